"""Running one shell script on one host over ssh (argv, never a local shell); the script
travels on stdin, so the remote command line holds no user value at all."""
import subprocess

from vm5k_doc.errors import PlatformError

SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]


def ssh_argv(address, key=None, user="root"):
    argv = ["ssh", *SSH_OPTIONS]
    if key:
        argv += ["-i", key]
    return argv + ["-l", user, "--", address, "sh -s"]


def run_script(address, script, key=None, user="root", timeout=300):
    """Run `script` with sh on `address` as `user`; its stdout, or PlatformError with the last line."""
    try:
        done = subprocess.run(ssh_argv(address, key, user), input=script, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise PlatformError("ssh not found") from None
    except subprocess.TimeoutExpired:
        raise PlatformError(f"{address}: no answer after {timeout} s") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise PlatformError(f"{address}: exit {done.returncode}: {lines[-1] if lines else 'no output'}")
    return done.stdout
