"""CIFAR-10 and CIFAR-100 from their *binary* version (``cifar-10-binary.tar.gz``, extracted).

    train = CIFAR10("~/data/cifar-10-batches-bin", train=True)    # 50,000 x (3, 32, 32)

The binary format is a flat sequence of records, no header:

    CIFAR-10:  1 label byte (0..9)                     + 3072 pixel bytes
    CIFAR-100: 1 coarse label byte (0..19), 1 fine (0..99) + 3072 pixel bytes

with the pixels as 1024 red, then 1024 green, then 1024 blue bytes, each a 32x32 image in row
order: exactly (3, 32, 32) in C order.

The "python version" (``cifar-10-batches-py``, what torchvision reads) is a pickle of a dict
{'data': uint8 array (N, 3072), 'labels': [int] (or 'fine_labels' / 'coarse_labels')}. A pickle
can run any code when it is loaded, so ``read_cifar_python`` unpickles with a restricted
unpickler that admits only what such a batch contains: numpy's array and dtype reconstruction
and ``_codecs.encode`` (which Python 2/3 pickles use for byte strings). Anything else is refused
before it is called. ``CIFAR10`` here reads the binary version; ``autograd_cnn.vision.datasets``
reads the python version with torchvision's folder layout.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset

__all__ = ["read_cifar_binary", "read_cifar_python", "CIFAR10", "CIFAR100", "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
_PIXELS = 3 * 32 * 32


def _looks_like(raw: bytes) -> str | None:
    """A name for a foreign file format recognised from its first bytes, or None."""
    if raw[:2] == b"\x1f\x8b":
        return ("gzip-compressed (the downloaded .tar.gz?); extract it first: "
                "tar xzf cifar-10-binary.tar.gz")
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("a Python pickle (the 'python version' of CIFAR); download the binary version "
                "(cifar-10-binary.tar.gz / cifar-100-binary.tar.gz) instead")
    if len(raw) > 262 and raw[257:262] == b"ustar":
        return "a tar archive; extract it first: tar xf <archive>"
    return None


def read_cifar_binary(path, label_bytes: int = 1, num_classes=(10,)) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N, label_bytes) int64) from one binary batch file.

    ``num_classes`` gives the exclusive upper bound of each label byte (CIFAR-10: (10,),
    CIFAR-100: (20, 100)). Raises ValueError, saying what was expected and found, on an empty,
    truncated or foreign file and on an out-of-range label.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    record = label_bytes + _PIXELS
    foreign = _looks_like(raw)
    if foreign:
        raise ValueError(f"{path}: not a CIFAR binary batch: the file is {foreign}")
    if len(raw) == 0:
        raise ValueError(f"{path}: empty file; expected records of {record} bytes "
                         f"({label_bytes} label byte(s) + {_PIXELS} pixel bytes)")
    if len(raw) % record:
        n, rest = divmod(len(raw), record)
        raise ValueError(f"{path}: {len(raw)} bytes is not a whole number of {record}-byte records "
                         f"({label_bytes} label byte(s) + {_PIXELS} pixels): {n} records and "
                         f"{rest} bytes left over; the file is truncated or not a CIFAR binary batch")
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)     # (N, record)
    labels = table[:, :label_bytes].astype(np.int64)                   # (N, label_bytes)
    for j, bound in enumerate(num_classes):
        bad = np.flatnonzero(labels[:, j] >= bound)
        if bad.size:
            raise ValueError(f"{path}: record {bad[0]} has label {labels[bad[0], j]} in label "
                             f"byte {j}, expected 0..{bound - 1}; the file is corrupt or not a "
                             f"{'CIFAR-10' if label_bytes == 1 else 'CIFAR-100'} binary batch")
    images = table[:, label_bytes:].reshape(-1, 3, 32, 32).copy()     # R, G, B planes = (3, 32, 32)
    return images, labels


def _encode_latin1(text, encoding="latin1"):
    """``_codecs.encode`` as CIFAR pickles use it: a byte string stored as latin-1 text."""
    if not isinstance(text, str) or encoding.lower().replace("-", "") != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is allowed only as str -> latin-1 bytes")
    return codecs.encode(text, "latin1")


class _CifarUnpickler(pickle.Unpickler):
    """Admits only the globals a pickled CIFAR batch names; any other is refused unresolved."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):
            return _encode_latin1
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def read_cifar_python(path, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray, dict]:
    """(images (N, 3, 32, 32) uint8, labels (N,) int64, the whole dict) from one batch file of
    the python version (data_batch_1, test_batch, train, test, ...), unpickled safely. Also
    reads the meta files (batches.meta, meta): then images and labels are None."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b" or (len(raw) > 262 and raw[257:262] == b"ustar"):
        raise ValueError(f"{path}: not a CIFAR python batch: the file is an archive; extract it "
                         "first: tar xzf cifar-10-python.tar.gz")
    try:
        entry = _CifarUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path}: refused to unpickle: {err}") from None
    except Exception as err:                 # truncated, not a pickle, ...
        raise ValueError(f"{path}: not a readable CIFAR python batch ({type(err).__name__}: "
                         f"{err})") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: expected a pickled dict, found {type(entry).__name__}")
    entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if "data" not in entry:
        return None, None, entry                        # a meta file
    data = entry["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != _PIXELS or len(data) == 0:
        raise ValueError(f"{path}: 'data' must be a non-empty uint8 array (N, {_PIXELS}), found "
                         f"{getattr(data, 'dtype', type(data).__name__)} of shape "
                         f"{getattr(data, 'shape', None)}")
    keys = [label_key] if label_key in entry else [k for k in ("labels", "fine_labels")
                                                   if k in entry]
    if not keys:
        raise ValueError(f"{path}: no {label_key!r} entry (found keys {sorted(entry)})")
    labels = np.asarray(entry[keys[0]])
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: expected {len(data)} integer labels in {keys[0]!r}, found "
                         f"shape {labels.shape} of {labels.dtype}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64), entry


def _folder(root: Path, subfolder: str, first_file: str) -> Path:
    """``root`` itself if it holds the batch files, else root/subfolder (the archive's folder)."""
    for folder in (root, root / subfolder):
        if (folder / first_file).is_file():
            return folder
    raise FileNotFoundError(f"{root}: no {first_file} here or in {root / subfolder}; extract the "
                            "binary version of the dataset there")


def _names(path: Path, default: list[str], expected: int) -> list[str]:
    if path.is_file():
        names = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        if len(names) == expected:
            return names
    return default


class CIFAR10(ArrayDataset):
    """CIFAR-10: data_batch_1.bin .. data_batch_5.bin (train, 50,000) or test_batch.bin (10,000)
    in ``root`` or ``root/cifar-10-batches-bin``. Samples (3, 32, 32) float32 in [0, 1], labels
    0..9; class names from batches.meta.txt when present."""

    def __init__(self, root, train: bool = True, transform=None):
        root = Path(root).expanduser()
        files = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        folder = _folder(root, "cifar-10-batches-bin", files[0])
        missing = [f for f in files if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing {missing}; the training set needs all of "
                                    f"{files}")
        parts = [read_cifar_binary(folder / f, 1, (10,)) for f in files]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1][:, 0] for p in parts])
        classes = _names(folder / "batches.meta.txt", CIFAR10_CLASSES, 10)
        super().__init__(images, labels, classes=classes, transform=transform)
        self.root, self.train = folder, bool(train)


class CIFAR100(ArrayDataset):
    """CIFAR-100: train.bin (50,000) or test.bin (10,000) in ``root`` or
    ``root/cifar-100-binary``. ``label='fine'`` (100 classes) or ``'coarse'`` (20 superclasses);
    names from fine_label_names.txt / coarse_label_names.txt when present."""

    def __init__(self, root, train: bool = True, label: str = "fine", transform=None):
        if label not in ("fine", "coarse"):
            raise ValueError(f"CIFAR100: label must be 'fine' or 'coarse', got {label!r}")
        root = Path(root).expanduser()
        name = "train.bin" if train else "test.bin"
        folder = _folder(root, "cifar-100-binary", name)
        images, labels = read_cifar_binary(folder / name, 2, (20, 100))
        k = 100 if label == "fine" else 20
        column = 1 if label == "fine" else 0
        classes = _names(folder / f"{label}_label_names.txt", [str(i) for i in range(k)], k)
        super().__init__(images, labels[:, column], classes=classes, transform=transform)
        self.root, self.train, self.label = folder, bool(train), label
