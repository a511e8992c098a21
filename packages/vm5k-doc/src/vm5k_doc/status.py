"""Exit status: part of every vm5k command's interface (README's exit-status table, docs/design.md)."""
import enum


class ExitStatus(enum.IntEnum):
    OK = 0             # all done
    ERROR = 1          # unexpected failure (a bug): the traceback is shown with -v
    BAD_INPUT = 2      # bad usage or invalid input: one line names the field or line
    PARTIAL = 3        # some hosts or VMs KO: the document says which
    NO_RESOURCES = 4   # no resources, no slot, not enough addresses or capacity
    PLATFORM = 5       # platform or remote failure (OAR, ssh, libvirt...)
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: the document is still written


EXIT_STATUS_HELP = """Exit status:
  0 all done; 2 bad usage or invalid input; 3 partial (some hosts or VMs KO);
  4 no resources or no slot; 5 platform or remote failure; 130 interrupted.
  The document is written to stdout in every case."""
