"""Hostile and degenerate data files (issue 12, item 11): each refused with a clear ValueError
before it costs memory or time: IDX files declaring 0 images or an absurd size, gzip bombs,
.npy files declaring an absurd size, images past Pillow's pixel limit."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from autograd_cnn.data import MNIST, ImageFolder, read_idx, read_idx_images, read_idx_labels, \
    read_npy
from autograd_cnn.data.mnist import MAX_IDX_BYTES
from autograd_cnn.vision.datasets import ImageFolder as TVImageFolder


def idx_header(type_code, shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)


# ---- IDX ---------------------------------------------------------------------------------------

def test_mnist_files_declaring_zero_images_or_labels(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_header(0x08, (0, 28, 28)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_header(0x08, (0,)))
    with pytest.raises(ValueError, match=r"declares 0 images of 28x28 pixels.*at least one"):
        read_idx_images(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(ValueError, match="declares 0 labels"):
        read_idx_labels(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(ValueError, match="declares 0 images"):
        MNIST(tmp_path, train=True)
    # rows or columns of 0 are as empty
    (tmp_path / "flat").write_bytes(idx_header(0x08, (5, 0, 28)))
    with pytest.raises(ValueError, match="declares 5 images of 0x28 pixels"):
        read_idx_images(tmp_path / "flat")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_declaring_an_absurd_size_is_refused_before_reading(tmp_path, gz):
    data = idx_header(0x0E, (2**32 - 1, 2**32 - 1, 2**32 - 1)) + bytes(64)   # ~6e29 bytes
    path = tmp_path / "absurd"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=r"declares shape \(4294967295, 4294967295, "
                                         r"4294967295\).*more than the limit of 4,294,967,296"):
        read_idx(path)
    assert MAX_IDX_BYTES == 4 << 30
    # the limit is stated and adjustable: a real 800-byte file under a 100-byte limit
    small = tmp_path / "small"
    small.write_bytes(idx_header(0x08, (1, 28, 28)) + bytes(784))
    with pytest.raises(ValueError, match="800 bytes, more than the limit of 100"):
        read_idx(small, max_bytes=100)
    assert read_idx(small).shape == (1, 28, 28)


def test_gzip_bomb_is_stopped_at_the_size_its_header_declares(tmp_path):
    # 4 labels declared, then 64 MB of zeros: ~64 kB compressed
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(idx_header(0x08, (4,)) + bytes(4))
        chunk = bytes(1 << 20)
        for _ in range(64):
            f.write(chunk)
    assert bomb.stat().st_size < 200_000
    # "1 unexpected byte": decompression stopped one byte past the declared 12, not at 64 MB
    with pytest.raises(ValueError, match=r"1 unexpected byte\(s\) after the 4 data bytes"):
        read_idx_labels(bomb)


# ---- .npy --------------------------------------------------------------------------------------

def write_npy_header(path, shape, descr="<f4", data=b""):
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False,
                                                 "shape": shape})
        f.write(data)
    return path


def test_npy_declaring_an_absurd_size(tmp_path):
    p = write_npy_header(tmp_path / "absurd.npy", (10**6, 10**6, 10**3), data=bytes(64))
    with pytest.raises(ValueError, match=r"declares shape \(1000000, 1000000, 1000\) of float32, "
                                         r"4,000,000,000,000,000 bytes, more than the limit"):
        read_npy(p)
    # under the limit but more than the file holds: truncated, not a 400 MB allocation
    p = write_npy_header(tmp_path / "short.npy", (10**4, 10**4), data=bytes(64))
    with pytest.raises(ValueError, match=r"400,000,000 data bytes, but the file holds 64"):
        read_npy(p)


def test_read_npy_reads_numeric_arrays_and_refuses_objects(tmp_path):
    a = np.arange(12, dtype=np.int16).reshape(3, 4)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a.astype(np.float64)))
    np.testing.assert_array_equal(read_npy(tmp_path / "a.npy"), a)
    np.testing.assert_array_equal(read_npy(tmp_path / "f.npy"), a)
    np.save(tmp_path / "o.npy", np.array([{}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="holds pickled Python objects"):
        read_npy(tmp_path / "o.npy")
    (tmp_path / "t.npy").write_text("not numpy")
    with pytest.raises(ValueError, match="not a readable .npy file"):
        read_npy(tmp_path / "t.npy")


# ---- images past Pillow's pixel limit ----------------------------------------------------------

@pytest.fixture
def tiny_pixel_limit(monkeypatch):
    """Pillow's decompression-bomb limit lowered to 100 pixels, so small files exceed it."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)


@pytest.mark.parametrize("side", [12, 30])       # 1.4x the limit (Pillow warns), 9x (it raises)
def test_images_past_pillows_pixel_limit(tmp_path, tiny_pixel_limit, side):
    (tmp_path / "a").mkdir()
    Image.new("L", (side, side)).save(tmp_path / "a" / "big.png")
    for make in (lambda: ImageFolder(tmp_path),          # headers checked when made
                 lambda: TVImageFolder(tmp_path)[0]):     # torchvision's: opened when read
        with pytest.raises(ValueError, match=r"image .*big.png.*MAX_IMAGE_PIXELS = 100") as err:
            make()
        assert f"{side * side} pixels" in str(err.value)
