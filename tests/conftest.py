"""Test-suite plumbing. The PyTorch parity suite (tests/parity/) needs torch, which `make test`
does not install: it is collected only when AUTOGRAD_CNN_PARITY=1 (`make parity` sets it)."""

import os

collect_ignore = [] if os.environ.get("AUTOGRAD_CNN_PARITY") == "1" else ["parity"]
