"""Shell quoting of values already checked (vm5k_doc.checks)."""
import shlex

# the check of ids lives in the validation layer with the others; imported here for the
# modules that quote what they checked
from .checks import check_id  # noqa: E402,F401


def quote(value):
    """Quote one value for a remote shell command line."""
    return shlex.quote(str(value))


def join(argv):
    """Quote every word of argv into one shell command line."""
    return " ".join(shlex.quote(str(a)) for a in argv)
