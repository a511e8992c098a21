"""Bench (issue 7): a 200 MB file to the lab hosts by our broadcast (execo ChainPut, mended)
vs parallel scp (execo Put) vs a plain sequential scp loop; checksums verified, ratios printed.

    .venv/bin/python packages/vm5k-hosts/bench/broadcast.py [MB]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from vm5k_doc import platforms, remote, ssh
from vm5k_hosts import broadcast, images

DEST = "/tmp/vm5k-bench"      # private per lab host
ROUNDS = 3


def main(size_mb=200):
    lab = platforms.get("lab").up()
    addresses = [h["address"] for h in lab["hosts"]]
    conn = ssh.Ssh(key=lab["ssh"]["key"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "image.bin")
        with open(path, "wb") as out:
            out.write(os.urandom(size_mb << 20))
        want = images.sha256_file(path)

        def clean():
            remote.run_scripts(conn, {a: (a, f"rm -rf {DEST}; mkdir -p {DEST}") for a in addresses})

        def verify():
            got = remote.run_scripts(conn, {a: (a, f"sha256sum {DEST}/image.bin") for a in addresses})
            bad = [a for a, r in got.items() if not r.ok or want not in r.stdout]
            assert not bad, f"checksum differs on {bad}"

        def scp_loop():
            for a in addresses:
                subprocess.run(["scp", "-q", *ssh.options(conn.key), path,
                                f"root@{a}:{DEST}/"], check=True)

        timings = {}
        for name, copy in (("scp loop", scp_loop),
                           ("execo Put (parallel scp)", lambda: broadcast.copy([path], addresses, DEST, conn, "put")),
                           ("ChainPut (vm5k-hosts)", lambda: broadcast.copy([path], addresses, DEST, conn, "chainput"))):
            for _ in range(ROUNDS):   # the best of a few: the machine is shared and noisy
                clean()
                start = time.monotonic()
                copy()
                timings[name] = min(timings.get(name, 1e9), time.monotonic() - start)
                verify()
        clean()
    base = timings["scp loop"]
    print(f"{size_mb} MB to {len(addresses)} lab hosts (best of {ROUNDS}):")
    for name, seconds in timings.items():
        print(f"  {name:26s} {seconds:5.2f} s  ({seconds / base:.2f} of the scp loop)")
    print(json.dumps({k: round(v, 2) for k, v in timings.items()}), file=sys.stderr)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
