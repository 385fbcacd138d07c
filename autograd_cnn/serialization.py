"""Checkpoints without pickle: ``save(obj, path)`` and ``load(path)``.

``obj`` may nest dicts (any order; keys str, int, float, bool, None or tuples of those), lists,
tuples, Tensors, numpy arrays, and ints, floats, bools, None and strings: a model's
``state_dict()``, an optimizer's, a scheduler's, an epoch counter, a numpy Generator's
``bit_generator.state``... Loading gives the same structure back (numpy scalars come back as
Python numbers). Nothing executable is ever stored or run: the file is data only, and ``load``
never calls pickle, so a malicious file cannot run code.

File layout (the safetensors format, https://github.com/huggingface/safetensors):

    8 bytes    N, the length of the header (little-endian uint64)
    N bytes    a JSON header: {name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]},
               ..., "__metadata__": {"format": "autograd_cnn", "version": "2",
               "structure": <JSON>, "crc32": <hex>, "header_crc32": <hex>}}
               (padded with spaces to a multiple of 8)
    the arrays' bytes, back to back, little-endian, C order; offsets count from here

so a flat dict of arrays saved here opens with the safetensors library (and a plain safetensors
file opens here, as a dict of tensors). ``structure`` records the nesting, with each array
replaced by a reference to its name; ``crc32`` guards the array bytes and ``header_crc32`` the
header itself: the CRC-32 of its canonical form, the parsed header without ``header_crc32``
dumped as compact JSON with sorted keys (``_canonical``). A checksum over the parsed header, not
its bytes, keeps the field inside the header (every value a string, as the safetensors library
requires of ``__metadata__``) and means any corruption that changes what the header says (a dtype
``F32`` -> ``U32``, a shape, an offset, the structure, the format name) is detected, while one
that only changes spacing loads the same values. Files of version 1 (no ``header_crc32``) still
load; a version-2 file without it is refused.

Saving through a symbolic link writes the file the link points to (the link stays a link).

Saving is atomic: the file is written under a temporary name in the same folder, flushed to disk
(fsync) and renamed over ``path``, so a crash mid-save leaves the previous checkpoint intact. On
an exception (KeyboardInterrupt included) the temporary file is removed; one left by a killed
process is removed by the next successful save to the same path. A truncated, corrupted or
foreign file (a pickle, a zip, a text file) raises ``CheckpointError`` (a ValueError) saying so.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import zlib
from collections import OrderedDict

import numpy as np

from .nn.parameter import Parameter
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

_FORMAT = "autograd_cnn"
_VERSION = 2
_VERSIONS = ("1", "2")    # what load reads; 1: no header checksum
_MAX_HEADER = 100 * 2 ** 20          # a header is JSON text: 100 MB would already be absurd

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_CODES = {np.dtype(t): code for code, t in _DTYPES.items()}
_BF16 = "BF16"           # read as its uint16 bits; a plain safetensors file's BF16/F16 -> float32


class CheckpointError(ValueError):
    """The file is not a readable checkpoint: truncated, corrupted, or another format."""


# ---- saving ------------------------------------------------------------------------------------


class _Encoder:
    """Turns ``obj`` into a JSON-able structure and a list of (name, array)."""

    def __init__(self):
        self.arrays: list[tuple[str, np.ndarray]] = []
        self.names: set[str] = set()

    def _name(self, path: tuple) -> str:
        base = ".".join(str(p) for p in path) or "_"
        name, n = base, 1
        while name in self.names or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        self.names.add(name)
        return name

    def _array(self, arr: np.ndarray, path: tuple, where: str) -> str:
        if arr.dtype.newbyteorder("=") not in _CODES and arr.dtype not in _CODES:
            raise TypeError(f"save: the array at {where} has dtype {arr.dtype}, which cannot be "
                            f"stored; supported: {', '.join(str(np.dtype(t)) for t in _DTYPES.values())}")
        # little-endian, C order (ascontiguousarray would turn a 0-d array into shape (1,))
        arr = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
        name = self._name(path)
        self.arrays.append((name, arr))
        return name

    def encode(self, obj, path: tuple = ()):
        where = "the top level" if not path else "[" + "][".join(repr(p) for p in path) + "]"
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)):
            return obj
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, Tensor):
            kind = "Parameter" if isinstance(obj, Parameter) else "Tensor"
            return {"array": self._array(obj._data, path, where), "kind": kind,
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"array": self._array(obj, path, where), "kind": "ndarray"}
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, path + (i,)) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                items.append([self._key(k, where), self.encode(v, path + (k,))])
            return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = ("; save its state_dict() instead and restore it with "
                    "load_state_dict(ac.load(path))")
        raise TypeError(f"save: cannot store a {type(obj).__name__} at {where}: checkpoints hold "
                        "only dicts, lists, tuples, Tensors, numpy arrays, numbers, strings and "
                        f"None (never pickled objects){hint}")

    def _key(self, key, where: str):
        if key is None or isinstance(key, (bool, str, int, float)):
            return key
        if isinstance(key, tuple):
            return {"tuple": [self._key(k, where) for k in key]}
        if isinstance(key, np.integer):
            return int(key)
        raise TypeError(f"save: a dict key at {where} is a {type(key).__name__} ({key!r}); keys "
                        "must be str, int, float, bool, None or tuples of those")


def _header_bytes(encoder: _Encoder, structure, crc: int) -> bytes:
    header, offset = {}, 0
    for name, arr in encoder.arrays:
        header[name] = {"dtype": _CODES[arr.dtype.newbyteorder("=")], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    meta = {
        "format": _FORMAT, "version": str(_VERSION), "crc32": f"{crc:08x}",
        "structure": json.dumps(structure, separators=(",", ":"), allow_nan=True),
    }
    header["__metadata__"] = meta
    meta["header_crc32"] = f"{zlib.crc32(_canonical(header)):08x}"
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return text + b" " * (-len(text) % 8)


def _canonical(header: dict) -> bytes:
    """The bytes ``header_crc32`` is computed over: the header as parsed, without that field,
    as compact ASCII JSON with sorted keys (the same for every spelling of the same header)."""
    meta = header.get("__metadata__")
    if isinstance(meta, dict) and "header_crc32" in meta:
        header = dict(header, __metadata__={k: v for k, v in meta.items()
                                            if k != "header_crc32"})
    return json.dumps(header, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def _bytes_of(arr: np.ndarray) -> memoryview:
    return memoryview(arr.reshape(-1).view(np.uint8))


def _encode(obj):
    encoder = _Encoder()
    structure = encoder.encode(obj)
    return encoder, structure


def _write(f, encoder: _Encoder, structure) -> None:
    crc = 0
    for _, arr in encoder.arrays:
        crc = zlib.crc32(_bytes_of(arr), crc)
    header = _header_bytes(encoder, structure, crc)
    f.write(struct.pack("<Q", len(header)))
    f.write(header)
    for _, arr in encoder.arrays:
        f.write(_bytes_of(arr))


def _tmp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def _remove_stale_temporaries(path: str) -> None:
    """Remove temporary files that a killed save to ``path`` left behind (their writer process
    no longer exists); temporary files of a save still running elsewhere are kept."""
    folder, prefix = os.path.dirname(path), _tmp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        try:
            pid = int(name[:-4].rsplit(".", 1)[1])
            os.kill(pid, 0)                   # raises if no such process
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except (ValueError, IndexError, PermissionError, OSError):
            continue


def save(obj, path) -> None:
    """Write ``obj`` (see the module docstring for what it may hold) to ``path`` atomically, or
    to a writable binary file object (then without the atomic rename)."""
    encoder, structure = _encode(obj)    # an unsupported object fails before a file is touched
    if hasattr(path, "write"):
        _write(path, encoder, structure)
        return
    # through a symbolic link: replace the file it points to, not the link
    path = os.path.realpath(os.path.abspath(os.fspath(path)))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=f".{os.getpid()}.tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            _write(f, encoder, structure)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)
    _remove_stale_temporaries(path)


def _fsync_folder(folder: str) -> None:
    # make the rename itself durable (POSIX); not possible (nor needed) everywhere
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading -----------------------------------------------------------------------------------


def _describe_start(head: bytes) -> str:
    if head.startswith(b"\x80"):
        return "a Python pickle (refused: unpickling can run arbitrary code)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a PyTorch .pt/.pth file or a numpy .npz; not read)"
    if head.startswith(b"\x93NUMPY"):
        return "a numpy .npy file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    return "some other format"


def _read_exact(f, n: int, what: str, source: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CheckpointError(f"load: {source} is truncated: expected {n} bytes of {what}, got "
                              f"{len(data)}")
    return data


def _parse_header(f, source: str, size: int | None) -> dict:
    head = f.read(8)
    if len(head) < 8:
        raise CheckpointError(f"load: {source} is too short ({len(head)} bytes) to be a "
                              "checkpoint (empty or truncated)")
    (n,) = struct.unpack("<Q", head)
    if n == 0 or n > _MAX_HEADER or (size is not None and n > size - 8):
        first = head + f.read(8)
        kind = _describe_start(first)
        if kind == "some other format" and size is not None and 0 < n <= _MAX_HEADER:
            raise CheckpointError(f"load: {source} is truncated: its header should be {n} bytes "
                                  f"but the file has {size - 8} after the length field")
        raise CheckpointError(f"load: {source} is not an autograd_cnn/safetensors checkpoint: "
                              f"it looks like {kind}")
    raw = _read_exact(f, n, "header", source)
    if not raw.lstrip()[:1] == b"{":
        raise CheckpointError(f"load: {source} is not an autograd_cnn/safetensors checkpoint: "
                              f"it looks like {_describe_start(head + raw[:8])}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError(f"load: {source} has a corrupt header "
                              f"({_short_error(err)})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {source} has a corrupt header (not a JSON object)")
    return header


def _tensor_table(header: dict, source: str) -> list:
    """[(name, dtype, shape, begin, end)] sorted by offset, every entry checked."""
    table = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = np.dtype(np.uint16 if info["dtype"] == _BF16 else _DTYPES[info["dtype"]])
            shape = tuple(info["shape"])
            begin, end = info["data_offsets"]
            ok = all(isinstance(s, int) and s >= 0 for s in shape) and \
                isinstance(begin, int) and isinstance(end, int)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"load: {source} has a corrupt header entry for {name!r}: "
                                  f"{info!r}")
        nbytes = math.prod(shape) * dtype.itemsize     # Python ints: no int64 overflow
        if end - begin != nbytes:
            raise CheckpointError(f"load: {source}: entry {name!r} spans {end - begin} bytes but "
                                  f"shape {list(shape)} of {dtype} needs {nbytes}")
        table.append((name, dtype, shape, begin, end))
    table.sort(key=lambda row: row[3])
    expected = 0
    for name, _, _, begin, end in table:
        if begin != expected:
            raise CheckpointError(f"load: {source} has a corrupt header: entry {name!r} starts at "
                                  f"byte {begin}, expected {expected} (no gaps or overlaps)")
        expected = end
    return table


def _read_arrays(f, table: list, source: str, data_size: int | None, crc_expected) -> dict:
    total = table[-1][4] if table else 0
    if data_size is not None and data_size < total:
        raise CheckpointError(f"load: {source} is truncated: the header lists {total} bytes of "
                              f"array data but the file holds {data_size}")
    if data_size is not None and data_size > total:
        raise CheckpointError(f"load: {source} is corrupt: {data_size - total} unexpected bytes "
                              "after the array data")
    arrays, crc = {}, 0
    for name, dtype, shape, begin, end in table:
        arr = np.empty(shape, dtype.newbyteorder("<"))
        view = _bytes_of(arr)
        got = f.readinto(view) if hasattr(f, "readinto") else None
        if got is None:
            chunk = f.read(end - begin)
            got = len(chunk)
            view[:got] = chunk
        if got != end - begin:
            raise CheckpointError(f"load: {source} is truncated inside array {name!r}: expected "
                                  f"{end - begin} bytes, got {got}")
        crc = zlib.crc32(view, crc)
        arrays[name] = arr.astype(dtype, copy=False)
    if data_size is None and f.read(1):
        raise CheckpointError(f"load: {source} is corrupt: unexpected bytes after the array data")
    if crc_expected is not None and f"{crc:08x}" != crc_expected:
        raise CheckpointError(f"load: {source} is corrupt: the checksum of the array data does "
                              f"not match (stored {crc_expected}, computed {crc:08x})")
    return arrays


class _Decoder:
    def __init__(self, arrays: dict, source: str):
        self.arrays, self.source = arrays, source

    def _bad(self, what) -> CheckpointError:
        return CheckpointError(f"load: {self.source} has a corrupt structure record ({what})")

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise self._bad(f"unexpected {type(node).__name__}")
        if "array" in node:
            name = node["array"]
            if name not in self.arrays:
                raise self._bad(f"reference to a missing array {name!r}")
            arr = self.arrays[name]
            kind = node.get("kind")
            if kind == "ndarray":
                return arr
            if kind == "Parameter":
                return Parameter(arr, requires_grad=bool(node.get("requires_grad", True)))
            if kind == "Tensor":
                return Tensor(arr, requires_grad=bool(node.get("requires_grad", False)))
            raise self._bad(f"unknown array kind {kind!r}")
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        for tag, cls in (("dict", dict), ("odict", OrderedDict)):
            if tag in node:
                out = cls()
                for item in node[tag]:
                    if not isinstance(item, list) or len(item) != 2:
                        raise self._bad("a dict item is not a [key, value] pair")
                    out[self.decode(item[0])] = self.decode(item[1])
                return out
        raise self._bad(f"unknown tag {sorted(node)!r}")


def _short_error(err, width: int = 120) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= width else text[:width - 3] + "..."


def _check_header(header: dict, meta: dict, source: str) -> bool:
    """Whether the header is one of ours; raises CheckpointError when its checksum does not
    match (or a version-2 file lacks one)."""
    stored = meta.get("header_crc32")
    if stored is not None:
        computed = f"{zlib.crc32(_canonical(header)):08x}"
        if stored != computed:
            raise CheckpointError(f"load: {source} is corrupt: the checksum of the header does "
                                  f"not match (stored {_short(stored)}, computed {computed})")
    ours = meta.get("format") == _FORMAT
    if not ours:
        if stored is not None or "structure" in meta:
            raise CheckpointError(f"load: {source} has a corrupt header (format "
                                  f"{_short(meta.get('format'))} with an autograd_cnn record)")
        return False
    version = meta.get("version", "1")          # hand-made files of the first format had none
    if version not in _VERSIONS:
        raise CheckpointError(f"load: {source} has a corrupt header or comes from a newer "
                              f"version (format version {_short(version)}; this one reads "
                              f"{', '.join(_VERSIONS)})")
    if version != "1" and stored is None:
        raise CheckpointError(f"load: {source} has a corrupt header (no header checksum)")
    return True


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _upcast(arr: np.ndarray, code: str) -> np.ndarray:
    """Half precision from a foreign file as float32 (numpy has no bfloat16: its 16 bits are the
    top half of a float32's)."""
    if code == _BF16:
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float32) if code == "F16" else arr


def _load_from(f, source: str, size: int | None):
    header = _parse_header(f, source, size)
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise CheckpointError(f"load: {source} has a corrupt header (__metadata__ is not an "
                              "object)")
    ours = _check_header(header, meta, source)
    table = _tensor_table(header, source)
    header_len = f.tell() if size is not None else None
    data_size = size - header_len if size is not None else None
    arrays = _read_arrays(f, table, source, data_size, meta.get("crc32") if ours else None)
    if not ours:
        # a plain safetensors file: its arrays by name
        return {name: Tensor(_upcast(arrays[name], header[name]["dtype"])) for name, *_ in sorted(
            table, key=lambda row: list(header).index(row[0]))}
    try:
        structure = json.loads(meta["structure"])
        return _Decoder(arrays, source).decode(structure)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as err:
        # a file whose checksums match but whose record is malformed (written by hand or by
        # another tool): still a CheckpointError, never an internal one
        raise CheckpointError(f"load: {source} has a corrupt structure record "
                              f"({_short_error(err)})") from None


def load(path, map_location=None, weights_only=None):
    """Read a checkpoint written by ``save`` (or any safetensors file) from a path or a binary
    file object. ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility
    and ignored: everything is on the CPU and nothing but data is ever read."""
    if hasattr(path, "read"):
        return _load_from(path, "the file object", None)
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        return _load_from(f, repr(path), size)
