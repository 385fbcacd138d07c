"""MNIST / Fashion-MNIST IDX files, generated here: valid (.gz and raw) and broken ones."""

import gzip
import struct

import numpy as np
import pytest

from autograd_cnn.data import MNIST, DataLoader, FashionMNIST, read_idx, read_idx_images, \
    read_idx_labels
from autograd_cnn.data import transforms as T

CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
         np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding, written out by hand from the format description."""
    arr = np.asarray(arr)
    header = bytes([0, 0, CODES[arr.dtype.newbyteorder("=")], arr.ndim])
    header += b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_mnist(root, n_train=12, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        ext = ".gz" if gz else ""
        write(root / f"{prefix}-images-idx3-ubyte{ext}", idx_bytes(images), gz)
        write(root / f"{prefix}-labels-idx1-ubyte{ext}", idx_bytes(labels), gz)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [True, False])
def test_valid_mnist_gz_and_raw(tmp_path, gz):
    ref = make_mnist(tmp_path, gz=gz)
    train, test = MNIST(tmp_path, train=True), MNIST(tmp_path, train=False)
    assert len(train) == 12 and len(test) == 5
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], ref["train"][0][3] / 255.0, rtol=1e-6)
    assert y == ref["train"][1][3]
    np.testing.assert_array_equal(test.targets, ref["t10k"][1])
    assert train.images.dtype == np.uint8                       # stored compactly
    xb, yb = next(iter(DataLoader(train, batch_size=4, transform=T.Pad(2))))
    assert xb.shape == (4, 1, 32, 32) and yb.dtype == np.int64


def test_mirror_spelling_and_fashion_names(tmp_path):
    rng = np.random.default_rng(1)
    write(tmp_path / "t10k-images.idx3-ubyte", idx_bytes(rng.integers(0, 256, (3, 28, 28),
                                                                        dtype=np.uint8)))
    write(tmp_path / "t10k-labels.idx1-ubyte", idx_bytes(np.array([0, 9, 8], np.uint8)))
    ds = FashionMNIST(tmp_path, train=False)
    assert [ds.classes[y] for y in ds.targets] == ["T-shirt/top", "Ankle boot", "Bag"]


def test_read_idx_other_types_round_trip(tmp_path):
    for arr in [np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
                np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 2, 2),
                np.array([1e300, -2.5]), np.arange(-3, 3, dtype=np.int8),
                np.array([2**31 - 1, -5], dtype=np.int32)]:
        out = read_idx(write(tmp_path / "a.idx", idx_bytes(arr), gz=True))
        np.testing.assert_array_equal(out, arr)
        assert out.dtype.isnative and out.dtype == arr.dtype


# ---- broken files: each says what was expected and what was found ----------------------------------

def test_truncated_data(tmp_path):
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    p = write(tmp_path / "x", data[:-100])
    with pytest.raises(ValueError, match=r"truncated IDX file: shape \(4, 28, 28\) of uint8 needs "
                                         r"3136 data bytes after the header, found 3036"):
        read_idx_images(p)


def test_truncated_header_and_tiny_file(tmp_path):
    with pytest.raises(ValueError, match=r"truncated IDX header: 3 dimensions need 16 header bytes"):
        read_idx(write(tmp_path / "h", bytes([0, 0, 8, 3, 0, 0, 0, 4])))
    with pytest.raises(ValueError, match="fewer than the 4-byte magic"):
        read_idx(write(tmp_path / "t", b"\x00\x00"))


def test_foreign_file(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(40)
    with pytest.raises(ValueError, match=r"expected an IDX images file with magic number 2051 "
                                         r"\(0x00000803\), found magic number 2303741511"):
        read_idx_images(write(tmp_path / "img.png", png))
    with pytest.raises(ValueError, match="not an IDX file: magic number"):
        read_idx(write(tmp_path / "text", b"hello world, not idx"))


def test_swapped_images_and_labels(tmp_path):
    labels = write(tmp_path / "labels", idx_bytes(np.zeros(4, np.uint8)))
    images = write(tmp_path / "images", idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    with pytest.raises(ValueError, match=r"magic number 2051.*found magic number 2049.*swapped"):
        read_idx_images(labels)
    with pytest.raises(ValueError, match=r"magic number 2049.*found magic number 2051.*swapped"):
        read_idx_labels(images)


def test_trailing_bytes(tmp_path):
    p = write(tmp_path / "l", idx_bytes(np.zeros(4, np.uint8)) + b"\x00\x01")
    with pytest.raises(ValueError, match=r"2 unexpected byte\(s\) after the 4 data bytes"):
        read_idx_labels(p)


def test_corrupt_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    p = write(tmp_path / "x.gz", blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        read_idx_images(p)


def test_count_mismatch_between_images_and_labels(tmp_path):
    make_mnist(tmp_path, n_train=6)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5, np.uint8)), gz=True)
    with pytest.raises(ValueError, match="holds 6 images but train-labels-idx1-ubyte.gz holds 5"):
        MNIST(tmp_path)


def test_label_out_of_range(tmp_path):
    p = write(tmp_path / "l", idx_bytes(np.array([1, 2, 12, 3], np.uint8)))
    with pytest.raises(ValueError, match=r"label 12 at index 2 is out of range; expected labels 0..9"):
        read_idx_labels(p)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_mnist"):
        MNIST(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_idx(tmp_path / "nope")
