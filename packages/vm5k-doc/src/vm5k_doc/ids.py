"""Ids and shell quoting: input is hostile until checked (DESIGN.md §4)."""
import re
import shlex

from .errors import InputError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_ID_LEN = 253


def check_id(value, what="id"):
    """Return value if it is a safe VM/host/site/cluster id, else raise InputError."""
    if not isinstance(value, str) or not ID_RE.match(value) or len(value) > MAX_ID_LEN:
        raise InputError(f"{what} {value!r} is not a valid id (letters, digits, '.', '_', '-'; "
                         f"starting with a letter or digit)")
    return value


def quote(value):
    """Quote one value for a remote shell command line."""
    return shlex.quote(str(value))


def join(argv):
    """Quote every word of argv into one shell command line."""
    return " ".join(shlex.quote(str(a)) for a in argv)
