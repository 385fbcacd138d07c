"""``autograd_cnn.utils``: where PyTorch code looks for ``torch.utils.data``."""

from . import data  # noqa: F401
