"""Run the stages one after the other, as the pipe does (each stage reads the whole
document before it works), keeping each one's document in DIR, then what vm5k users had
there: the state XML, hosts.list and vms.list (and with --plot, `vm5k-doc plot`'s picture).

A stage that fails (not 0, not 3 partial) stops the chain; the documents reached stay in
DIR and the status is that stage's. Otherwise the status is the worst seen (0 or 3).
"""
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from vm5k_doc import io
from vm5k_doc.errors import Vm5kError
from vm5k_doc.status import ExitStatus
from vm5k_net import lists

DOCUMENTS = {"vm5k-topo": "topo.json", "vm5k-oar": "oar.json", "vm5k-net": "net.json",
             "vm5k-hosts": "hosts.json", "vm5k-vms": "deployment.json"}
STATE_XML = "final_topo.xml"   # vm5k's name for the state at the end of a run
PICTURE = "final_topo.png"     # --plot
LISTS = ("hosts.list", "vms.list")


@dataclass
class Outcome:
    status: ExitStatus
    doc: dict          # the last document reached, or None
    files: list        # what DIR holds for this run, in order


def fresh_dir():
    """vm5k_YYYYMMDD_HHMMSS, created here; _2, _3... when one run already took the second."""
    base = time.strftime("vm5k_%Y%m%d_%H%M%S")
    for n in range(1, 100):
        name = base if n == 1 else f"{base}_{n}"
        try:
            os.mkdir(name)
            return name
        except FileExistsError:
            continue
    raise Vm5kError(f"cannot make a fresh directory {base}_N: give -o DIR")


def executable(name):
    # on PATH, as in the pipe, or next to our own interpreter (a venv not activated)
    exe = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if exe is None:
        raise Vm5kError(f"{name} is not installed")
    return exe


def run(argvs, outdir, plot=False):
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise Vm5kError(f"-o {outdir}: {exc.strerror}", ExitStatus.BAD_INPUT) from None
    # a document left by an earlier run would look reached by this one
    for name in [*DOCUMENTS.values(), STATE_XML, *LISTS, PICTURE]:
        if os.path.isfile(os.path.join(outdir, name)):
            os.unlink(os.path.join(outdir, name))
    files, previous, worst = [], None, ExitStatus.OK
    for argv in argvs:
        out = os.path.join(outdir, DOCUMENTS[argv[0]])
        status = call([executable(argv[0]), *argv[1:], *(["-i", previous] if previous else []), "-o", out])
        if os.path.isfile(out):
            previous = out
            files.append(DOCUMENTS[argv[0]])
        if status not in (ExitStatus.OK, ExitStatus.PARTIAL):
            worst = status
            break
        if previous != out:  # done, yet no document: a bug in the stage
            worst = ExitStatus.ERROR
            break
        worst = max(worst, status)
    doc = last_document(previous)
    if doc is not None:
        io.write(doc, os.path.join(outdir, STATE_XML), xml=True)
        lists.write(outdir, doc)
        files += [STATE_XML, *LISTS]
    # a picture that fails (vm5k-doc says why) leaves the deployment's status as it is
    if plot and doc is not None and call([executable("vm5k-doc"), "plot", "-i", previous,
                                          "-o", os.path.join(outdir, PICTURE)]) == ExitStatus.OK:
        files.append(PICTURE)
    return Outcome(worst, doc, files)


def call(argv):
    """Run one stage (stderr shared with ours); Ctrl-C reaches it too, and it still writes
    its document, so we wait for it."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.wait()
        return ExitStatus.INTERRUPTED
    if code < 0:
        return ExitStatus.INTERRUPTED if -code == 2 else ExitStatus.ERROR
    try:
        return ExitStatus(code)
    except ValueError:
        return ExitStatus.ERROR


def last_document(path):
    if path is None:
        return None
    try:
        return io.read(path)[0]
    except Vm5kError:  # not readable as a document (a bug in a stage): the file stays for a look
        return None


def summary(doc):
    """One line per VM: id, host, ip, state (tab-separated, like `jq @tsv`)."""
    return [f"{vm['id']}\t{vm.get('host') or '-'}\t{vm.get('ip') or '-'}\t{vm.get('state', '-')}"
            for vm in (doc or {}).get("vms", [])]
