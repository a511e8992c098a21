"""Walltimes and dates. Internally every date is a Unix epoch (int); OAR's command line
speaks server-local 'Y-m-d H:M:S' (TZ given to the commands), the document speaks ISO UTC."""
import datetime
import re
from zoneinfo import ZoneInfo

from vm5k_doc.errors import InputError

WALLTIME_RE = re.compile(r"^\s*(\d{1,4}):([0-5]?\d):([0-5]?\d)\s*$")
OAR_DATE_RE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2})")
G5K_TZ = "Europe/Paris"  # Grid'5000 frontends; execo forces it too (format_oar_date)


def walltime_seconds(walltime, what="walltime"):
    match = WALLTIME_RE.match(str(walltime))
    if not match:
        raise InputError(f"{what} {walltime!r} is not H:MM:SS")
    hours, minutes, seconds = (int(x) for x in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise InputError(f"{what} {walltime!r} must be more than 0")
    return total


def oar_walltime(seconds):
    """OAR/execo style, hours unpadded: 7200 -> '2:00:00'."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def oar_date(epoch, tz):
    """Epoch -> 'Y-m-d H:M:S' in the OAR server's time zone (what `oarsub -r` accepts)."""
    when = datetime.datetime.fromtimestamp(int(epoch), ZoneInfo(tz))
    return when.strftime("%Y-%m-%d %H:%M:%S")


def parse_oar_date(text, tz):
    """'Y-m-d H:M:S' in tz (None: this machine's local time) -> epoch."""
    when = datetime.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    if tz is None:
        return int(when.timestamp())
    return int(when.replace(tzinfo=ZoneInfo(tz)).timestamp())


def iso(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).isoformat(timespec="seconds")


def from_iso(text):
    if not text:
        return None
    return int(datetime.datetime.fromisoformat(text).timestamp())


def duration(seconds):
    """Human 'in 1 h 02 min' style, for progress lines."""
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
