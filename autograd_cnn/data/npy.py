"""Reading a numpy ``.npy`` file that came from anywhere: ``read_npy(path)``.

``np.load`` trusts the header: a 100-byte file declaring shape (10**6, 10**6) makes it try to
allocate terabytes (MemoryError, or the machine swapping), and ``allow_pickle`` decides whether
it runs pickled code. Here the header is read first and checked against the file:

    magic b"\\x93NUMPY", version, header length, then a dict literal
    {'descr': <dtype>, 'fortran_order': bool, 'shape': tuple}, then the raw data

and the data is read only when it is numeric (no object dtype: nothing is unpickled), the
declared size is at most ``max_bytes``, and the file holds exactly that many data bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

__all__ = ["read_npy", "MAX_NPY_BYTES"]

MAX_NPY_BYTES = 4 << 30          # 4 GiB: far above any image, far below what breaks a machine


def read_npy(path, max_bytes: int = MAX_NPY_BYTES) -> np.ndarray:
    """The numeric array in the ``.npy`` file ``path``; ValueError (saying what was found) for a
    file that is not .npy, holds Python objects, declares more than ``max_bytes`` bytes, or does
    not hold the bytes its header declares."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(1) == b"\x80":                 # PROTO: a pickle (pickle.dump of an array)
            raise ValueError(f"{path}: holds pickled Python objects (a pickle, not a .npy "
                             "file), which are never unpickled here; save a numeric array "
                             "with numpy.save")
        f.seek(0)
        try:
            version = npformat.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npformat.read_array_header_2_0(f)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except ValueError as err:
            raise ValueError(f"{path}: not a readable .npy file ({err})") from None
        if dtype.hasobject:
            raise ValueError(f"{path}: holds pickled Python objects (dtype {dtype}), which are "
                             "never unpickled here; save a numeric array with numpy.save")
        declared = math.prod(shape) * dtype.itemsize
        if declared > max_bytes:
            raise ValueError(f"{path}: the .npy header declares shape {shape} of {dtype}, "
                             f"{declared:,} bytes, more than the limit of {max_bytes:,} bytes; "
                             "the file is corrupt or hostile (raise max_bytes= if it is real)")
        found = size - f.tell()
        if found != declared:
            raise ValueError(f"{path}: the .npy header declares shape {shape} of {dtype}, "
                             f"{declared:,} data bytes, but the file holds {found:,}; it is "
                             "truncated or corrupt")
        data = np.frombuffer(f.read(declared), dtype=dtype)
    order = "F" if fortran else "C"
    return data.reshape(shape, order=order).copy()
