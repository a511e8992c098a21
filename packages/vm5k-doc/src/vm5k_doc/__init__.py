"""vm5k-doc: the deployment document every vm5k command reads and writes."""
__version__ = "0.1.0"

from .errors import InputError, NoResources, Partial, PlatformError, Vm5kError  # noqa: F401
from .status import ExitStatus  # noqa: F401
