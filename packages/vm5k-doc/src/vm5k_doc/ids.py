"""Shell quoting of values already checked (vm5k_doc.checks)."""
import shlex


def quote(value):
    """Quote one value for a remote shell command line."""
    return shlex.quote(str(value))


def join(argv):
    """Quote every word of argv into one shell command line."""
    return " ".join(shlex.quote(str(a)) for a in argv)
