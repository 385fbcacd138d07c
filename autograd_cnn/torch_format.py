"""Read PyTorch checkpoints (``torch.save``'s zip format) without torch and without running
pickled code: ``load_torch(path)``.

A ``.pth``/``.pt`` file written by PyTorch >= 1.6 is a zip archive (entries stored uncompressed):

    <name>/data.pkl        a pickle (protocol 2) of the saved object, tensors as reduce calls:
                           torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
    <name>/data/<key>      one file per storage: its raw bytes (byte order in <name>/byteorder)
    <name>/version, ...    format bookkeeping

A pickle is a small program: unpickling it runs whatever callables it names, which is how a
malicious checkpoint runs code. Here the pickle is read by a restricted unpickler that admits only

    collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter,
    torch.<Type>Storage (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool),
    and the pickle's plain containers (dict, list, tuple, str, numbers, None, bool),

each name mapped to a stand-in defined here (torch itself is never imported). Any other global
(``os.system``, ``builtins.eval``, a model class) is refused with ``CheckpointError`` before it
is called, and BUILD (setting an object's state) is allowed only on dicts, where state_dict's
``_metadata`` attribute lives. Legacy (pre-1.6, non-zip) pickles and TorchScript archives are
refused too.

Tensors come back as ``ac.Tensor`` (a pickled ``nn.Parameter`` as ``nn.Parameter``), contiguous
copies of the stored views; bfloat16 and float16 are upcast to float32 (numpy has no bfloat16,
and the kernels compute in float32/float64), so the result loads into a model with
``model.load_state_dict(ac.load_torch(path))``.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from .nn.parameter import Parameter
from .serialization import CheckpointError
from .tensor import Tensor

__all__ = ["load_torch"]

# torch.<name>Storage -> (numpy dtype of the stored bytes, how to read them)
_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stand-in for ``torch.<name>Storage``: only a name and a dtype (never called)."""

    def __init__(self, name: str):
        self.name, self.dtype = name, np.dtype(_STORAGES[name])

    def __repr__(self):
        return f"torch.{self.name}"


def _bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    # bfloat16 is the top half of a float32: shift the 16 bits back into place
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: the view (offset, size, stride) of a
    storage's flat array, copied to a contiguous Tensor (half precision upcast to float32)."""
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise CheckpointError("load_torch: a tensor record does not refer to a storage")
    try:
        offset = int(storage_offset)
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    except (TypeError, ValueError):
        raise CheckpointError("load_torch: a tensor record has a malformed size/stride") from None
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
        raise CheckpointError(f"load_torch: a tensor record has size {size}, stride {stride}, "
                              f"offset {offset}: not a valid view")
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size:
            raise CheckpointError(f"load_torch: a tensor view (size {size}, stride {stride}, "
                                  f"offset {offset}) reaches past its storage of "
                                  f"{storage.size} elements")
        item = storage.itemsize
        arr = np.lib.stride_tricks.as_strided(storage[offset:], size,
                                              tuple(s * item for s in stride), writeable=False)
    else:
        arr = np.empty(size, storage.dtype)
    arr = np.array(arr, order="C")                                  # own, contiguous copy
    if isinstance(storage, _Bf16Storage):
        arr = _bf16_to_f32(arr)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    return Tensor(arr, requires_grad=bool(requires_grad) and arr.dtype.kind == "f")


class _Bf16Storage(np.ndarray):
    """A flat uint16 array marked as bfloat16 bits (numpy has no bfloat16)."""


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None, *state):
    """Stand-in for ``torch._utils._rebuild_parameter(_with_state)``."""
    if not isinstance(data, Tensor):
        raise CheckpointError("load_torch: a parameter record does not hold a tensor")
    return Parameter(data._data, requires_grad=bool(requires_grad))


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}
_ALLOWED.update({("torch", name): _StorageType(name) for name in _STORAGES})


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (its opcode table can be edited) with every global looked up
    in ``_ALLOWED`` and BUILD limited to dicts."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, byteorder: str,
                 source: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.byteorder, self.source = archive, prefix, byteorder, source
        self.storages: dict = {}

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise CheckpointError(
                f"load_torch: {self.source} refused: its pickle asks for {module}.{name}, which "
                "is not a tensor record or a plain container (unpickling it could run code); "
                "save only a state_dict (torch.save(model.state_dict(), path))") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise CheckpointError(f"load_torch: {self.source} has an unknown persistent record "
                                  f"{pid!r:.80}")
        _, kind, key, _location, numel = pid
        if key not in self.storages:
            name = f"{self.prefix}data/{key}"
            try:
                raw = self.archive.read(name)
            except KeyError:
                raise CheckpointError(f"load_torch: {self.source} lacks the storage {name!r}"
                                      ) from None
            dtype = kind.dtype.newbyteorder("<" if self.byteorder == "little" else ">")
            if len(raw) != int(numel) * dtype.itemsize:
                raise CheckpointError(f"load_torch: {self.source}: storage {name!r} has "
                                      f"{len(raw)} bytes, expected {numel} x {dtype.itemsize}")
            arr = np.frombuffer(raw, dtype).astype(kind.dtype)      # native order, writable
            self.storages[key] = arr.view(_Bf16Storage) if kind.name == "BFloat16Storage" else arr
        return self.storages[key]

    def load_build(self):
        state = self.stack[-1]
        inst = self.stack[-2]
        if not isinstance(inst, dict) or not isinstance(state, dict):
            raise CheckpointError(f"load_torch: {self.source} refused: its pickle sets the state "
                                  f"of a {type(inst).__name__} (only dicts may carry state)")
        self.stack.pop()                 # state_dict()'s `_metadata` (layer versions): dropped

    dispatch[pickle.BUILD[0]] = load_build


def _prefix(names: list, source: str) -> str:
    pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        raise CheckpointError(f"load_torch: {source} is a TorchScript archive (torch.jit.save), "
                              "not a checkpoint: save the model's state_dict with torch.save")
    if len(pickles) != 1:
        raise CheckpointError(f"load_torch: {source} is a zip archive but not a PyTorch "
                              f"checkpoint (expected one <name>/data.pkl, found {pickles})")
    return pickles[0][: -len("data.pkl")]


def load_torch(path, map_location=None):
    """Read a ``torch.save`` checkpoint (PyTorch >= 1.6 zip format) from a path or binary file
    object, without torch and without running pickled code (see the module docstring).
    ``map_location`` is accepted for PyTorch compatibility and ignored (everything is CPU).

    Returns the saved object with tensors as ``ac.Tensor``: for a state dict, an OrderedDict
    ``{name: Tensor}`` that ``model.load_state_dict`` takes. Raises ``CheckpointError`` (a
    ValueError) for a legacy or malicious pickle, a TorchScript archive, or a corrupt file."""
    source = "the file object" if hasattr(path, "read") else repr(os.fspath(path))
    f = path if hasattr(path, "read") else open(os.fspath(path), "rb")
    try:
        head = f.read(4)
        f.seek(0)
        if head != b"PK\x03\x04":
            what = ("a legacy (pre-1.6) PyTorch pickle" if head[:1] == b"\x80"
                    else "not a zip archive")
            raise CheckpointError(f"load_torch: {source} is {what}; only the zip format of "
                                  "torch.save in PyTorch >= 1.6 is read (re-save it there with "
                                  "torch.save(torch.load(path, weights_only=True), new_path))")
        try:
            archive = zipfile.ZipFile(f)
        except zipfile.BadZipFile as err:
            raise CheckpointError(f"load_torch: {source} is a corrupt zip archive ({err})") \
                from None
        with archive:
            names = archive.namelist()
            prefix = _prefix(names, source)
            byteorder = "little"
            if prefix + "byteorder" in names:
                byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
                if byteorder not in ("little", "big"):
                    raise CheckpointError(f"load_torch: {source} has an unknown byte order "
                                          f"{byteorder!r}")
            unpickler = _RestrictedUnpickler(archive.read(prefix + "data.pkl"), archive, prefix,
                                             byteorder, source)
            try:
                return unpickler.load()
            except CheckpointError:
                raise
            except (pickle.UnpicklingError, EOFError, IndexError, TypeError, ValueError,
                    KeyError, AttributeError) as err:
                raise CheckpointError(f"load_torch: {source} has a corrupt pickle "
                                      f"({type(err).__name__}: {err})") from None
    finally:
        if f is not path:
            f.close()
