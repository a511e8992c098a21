"""Errors that carry their exit status, so a command turns them into one line and a code."""
from .status import ExitStatus


class Vm5kError(Exception):
    status = ExitStatus.ERROR

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = ExitStatus(status)


class InputError(Vm5kError):
    """Bad usage or invalid input (exit 2). The message names the field, path or line."""
    status = ExitStatus.BAD_INPUT


class NoResources(Vm5kError):
    """Not enough hosts, capacity, addresses or no slot (exit 4)."""
    status = ExitStatus.NO_RESOURCES


class PlatformError(Vm5kError):
    """The platform or a remote command failed (exit 5)."""
    status = ExitStatus.PLATFORM


class Partial(Vm5kError):
    """Some hosts or VMs are KO; the document says which (exit 3)."""
    status = ExitStatus.PARTIAL
