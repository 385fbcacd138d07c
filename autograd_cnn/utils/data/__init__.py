"""``autograd_cnn.utils.data``: the same objects as ``autograd_cnn.data``, under PyTorch's name,
so ``from torch.utils.data import DataLoader, TensorDataset`` ports by changing the package only.

Everything ``autograd_cnn.data`` exports (its ``__all__``) is re-exported; nothing is defined
here, so the two names never drift apart.
"""

from ...data import *  # noqa: F401,F403
from ...data import __all__  # noqa: F401
