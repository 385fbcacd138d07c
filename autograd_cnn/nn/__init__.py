"""Neural-network building blocks (filled in by issue 5). ``nn.functional`` is
``autograd_cnn.functional``."""

import sys as _sys

from .. import functional

# `import autograd_cnn.nn.functional as F` gives the same module object
_sys.modules[__name__ + ".functional"] = functional
