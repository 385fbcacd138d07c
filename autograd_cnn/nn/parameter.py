"""``Parameter``: a Tensor that a Module registers as learnable when it is assigned as an
attribute (``self.weight = Parameter(...)``)."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, get_default_dtype

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor that requires grad (unless told otherwise) and that ``Module`` collects into
    ``parameters()`` and ``state_dict()``. ``Parameter(t)`` shares ``t``'s memory, as in PyTorch.
    Results of ops on parameters are plain Tensors."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            data = data._data
        elif not isinstance(data, np.ndarray):
            data = np.asarray(data)
            if data.dtype.kind in "iu" or data.dtype == np.float64:
                data = data.astype(get_default_dtype())     # Python numbers -> default dtype
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
