"""MNIST and Fashion-MNIST from the IDX files a user brings (``.gz`` or uncompressed).

    train = MNIST("~/data/mnist", train=True)            # 60,000 x (1, 28, 28), labels 0..9
    test = FashionMNIST("~/data/fashion", train=False)

The IDX format (LeCun): a big-endian header, then the array in C order.

    bytes 0-1   0x0000
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 .. 4+4d   the d sizes, big-endian uint32
    then        prod(sizes) elements, big-endian

So the 32-bit magic number of an MNIST images file is 0x00000803 = 2051 (uint8, 3-D) and of a
labels file 0x00000801 = 2049 (uint8, 1-D). Every check says what was expected and what was found.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset

__all__ = ["read_idx", "read_idx_images", "read_idx_labels", "MNIST", "FashionMNIST",
           "IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC"]

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


# The most an IDX file may declare (header + data), 4 GiB: MNIST's largest file is 47 MB. A file
# declaring more is refused before anything is read or decompressed (``read_idx(max_bytes=)``).
MAX_IDX_BYTES = 4 << 30


def _declared_size(head: bytes, path: Path, max_bytes: int) -> int:
    """Total bytes (header + data) the IDX header ``head`` declares; refused past ``max_bytes``.
    ``head`` may be short or foreign: _parse_idx then explains what is wrong."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
        return -1
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return -1
    shape = [int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    total = 4 + 4 * ndim + math.prod(shape) * np.dtype(_IDX_TYPES[head[2]]).itemsize
    if total > max_bytes:
        raise ValueError(f"{path}: the IDX header declares shape {tuple(shape)}, {total:,} bytes, "
                         f"more than the limit of {max_bytes:,} bytes; the file is corrupt or "
                         "hostile (raise max_bytes= if it is really that large)")
    return total


def _read_bytes(path: Path, max_bytes: int = MAX_IDX_BYTES) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name).

    Never more than the IDX header declares plus one byte (which tells "too long" apart), so a
    gzip bomb (a small file that expands to gigabytes) is stopped at the size its header allows;
    a header declaring more than ``max_bytes`` is refused before any data is read."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        if not compressed:                   # on disk as it is: its size is known up front
            raw.seek(0)
            _declared_size(raw.read(4 + 4 * 255), path, max_bytes)
            size = path.stat().st_size
            if size > max_bytes:
                raise ValueError(f"{path}: the file is {size:,} bytes, more than the limit of "
                                 f"{max_bytes:,} bytes (raise max_bytes= if it is really that "
                                 "large)")
            raw.seek(0)
            return raw.read()
    try:
        with gzip.open(path, "rb") as f:
            return _read_declared(f, path, max_bytes)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path}: truncated or corrupt gzip file ({err}); download it again") from None


def _read_declared(f, path: Path, max_bytes: int) -> bytes:
    """From the open (possibly decompressing) file ``f``: the IDX header, then at most the
    declared data plus one byte. A foreign or truncated header is returned as read, for
    _parse_idx to explain."""
    head = f.read(4)
    if len(head) == 4:
        head += f.read(4 * head[3])
    total = _declared_size(head, path, max_bytes)
    if total < 0:
        return head
    return head + f.read(total + 1 - len(head))


def read_idx(path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or raw), in native byte order. A file whose
    header declares more than ``max_bytes`` bytes is refused before it is read."""
    path = Path(path).expanduser()
    return _parse_idx(_read_bytes(path, max_bytes), path)


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(data)} bytes, fewer than the 4-byte magic "
                         "number")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        magic = int.from_bytes(data[:4], "big")
        raise ValueError(f"{path}: not an IDX file: magic number {magic} (0x{magic:08X}); an IDX "
                         "file starts with two zero bytes, a type code (0x08 uint8 .. 0x0E float64)"
                         " and the number of dimensions (MNIST: 2051 images, 2049 labels)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} header "
                         f"bytes, the file has {len(data)}")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(f"{path}: truncated IDX file: shape {shape} of {dtype.name} needs "
                         f"{expected} data bytes after the header, found {found}")
    if found > expected:        # (a gzip file is expanded one byte past what the header allows)
        raise ValueError(f"{path}: IDX file has {found - expected} unexpected byte(s) after the "
                         f"{expected} data bytes of shape {shape}; the file is corrupt or not IDX")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def _check_magic(data: bytes, path: Path, want: int, what: str) -> None:
    head = data[:4]
    magic = int.from_bytes(head, "big") if len(head) == 4 else None
    if magic == want:
        return
    other = {IDX_IMAGES_MAGIC: "an images file", IDX_LABELS_MAGIC: "a labels file"}.get(magic)
    hint = f" (that is {other}: are the images and labels paths swapped?)" if other else ""
    shown = "no magic number (file shorter than 4 bytes)" if magic is None else \
        f"magic number {magic} (0x{magic:08X}){hint}"
    raise ValueError(f"{path}: expected an IDX {what} file with magic number {want} "
                     f"(0x{want:08X}), found {shown}")


def read_idx_images(path) -> np.ndarray:
    """MNIST-style images: magic 2051, uint8 of shape (N, rows, cols) -> (N, 1, rows, cols)."""
    path = Path(path).expanduser()
    data = _read_bytes(path)
    _check_magic(data, path, IDX_IMAGES_MAGIC, "images")
    images = _parse_idx(data, path)
    if 0 in images.shape:
        raise ValueError(f"{path}: the IDX header declares {images.shape[0]} images of "
                         f"{images.shape[1]}x{images.shape[2]} pixels; an images file needs at "
                         "least one image of at least 1x1 (the file is empty or damaged)")
    return images[:, None]                                  # (N, H, W) -> (N, 1, H, W)


def read_idx_labels(path, num_classes: int | None = 10) -> np.ndarray:
    """MNIST-style labels: magic 2049, uint8 of shape (N,) -> int64, each < ``num_classes``."""
    path = Path(path).expanduser()
    data = _read_bytes(path)
    _check_magic(data, path, IDX_LABELS_MAGIC, "labels")
    labels = _parse_idx(data, path).astype(np.int64)
    if labels.size == 0:
        raise ValueError(f"{path}: the IDX header declares 0 labels; a labels file needs at least "
                         "one (the file is empty or damaged)")
    if num_classes is not None and labels.size and labels.max() >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise ValueError(f"{path}: label {labels[bad]} at index {bad} is out of range; expected "
                         f"labels 0..{num_classes - 1}")
    return labels


def _find(root: Path, stem: str) -> Path:
    """The file for ``stem`` (e.g. 'train-images-idx3-ubyte') in ``root``: with or without .gz,
    and with the '.idx3' spelling some mirrors use."""
    names = [stem, stem.replace("-idx", ".idx")]
    candidates = [root / (n + ext) for n in names for ext in ("", ".gz")]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"{root}: none of {[c.name for c in candidates]} found; put the IDX "
                            "files there or download them with "
                            "autograd_cnn.data.download_mnist(root)")


class MNIST(ArrayDataset):
    """MNIST from its four IDX files in ``root`` (names as published, ``.gz`` or not):
    train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.

    Samples are (1, 28, 28) float32 in [0, 1] (stored as uint8) with labels 0..9. LeNet-5 wants
    32x32: add ``transform=Pad(2)``. ``download=True`` fetches missing files first, checking
    their SHA-256 (``download_mnist``).
    """

    kind = "mnist"
    classes_names = [str(d) for d in range(10)]

    def __init__(self, root, train: bool = True, transform=None, download: bool = False):
        root = Path(root).expanduser()
        if download:
            from .fetch import download_mnist
            download_mnist(root, kind=self.kind)
        prefix = "train" if train else "t10k"
        images_path = _find(root, f"{prefix}-images-idx3-ubyte")
        labels_path = _find(root, f"{prefix}-labels-idx1-ubyte")
        images = read_idx_images(images_path)
        labels = read_idx_labels(labels_path)
        if len(images) != len(labels):
            raise ValueError(f"{root}: {images_path.name} holds {len(images)} images but "
                             f"{labels_path.name} holds {len(labels)} labels; one of them is from "
                             "another set or damaged")
        super().__init__(images, labels, classes=self.classes_names, transform=transform)
        self.root, self.train = root, bool(train)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): the same IDX files and layout as MNIST, ten clothing classes."""

    kind = "fashion"
    classes_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                     "Sneaker", "Bag", "Ankle boot"]
