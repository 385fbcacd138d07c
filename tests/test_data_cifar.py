"""CIFAR-10 / CIFAR-100 binary batches, generated here: valid and broken ones."""

import gzip
import pickle

import numpy as np
import pytest

from autograd_cnn.data import CIFAR10, CIFAR100, DataLoader, read_cifar_binary


def records(images, *label_columns) -> bytes:
    """Binary records: label byte(s), then the R, G and B planes of the 32x32 image."""
    n = len(images)
    labels = np.stack(label_columns, axis=1).astype(np.uint8)               # (n, k)
    return np.concatenate([labels, images.reshape(n, -1)], axis=1).tobytes()


def make_cifar10(folder, n=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        (folder / name).write_bytes(records(images, labels))
        out[name] = (images, labels)
    return out


def test_valid_cifar10(tmp_path):
    ref = make_cifar10(tmp_path / "cifar-10-batches-bin")
    (tmp_path / "cifar-10-batches-bin" / "batches.meta.txt").write_text(
        "\n".join(f"class{i}" for i in range(10)) + "\n\n")
    train = CIFAR10(tmp_path)                                  # finds the archive's subfolder
    test = CIFAR10(tmp_path / "cifar-10-batches-bin", train=False)
    assert len(train) == 20 and len(test) == 4
    x, y = train[5]                                            # batch 2, record 1
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    np.testing.assert_allclose(x, ref["data_batch_2.bin"][0][1] / 255.0, rtol=1e-6)
    assert y == ref["data_batch_2.bin"][1][1]
    # channel order: the first 1024 pixel bytes are the red plane
    raw = (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").read_bytes()
    np.testing.assert_array_equal(test.images[0, 0].ravel(), np.frombuffer(raw[1:1025], np.uint8))
    assert train.classes[3] == "class3"
    xb, yb = next(iter(DataLoader(train, batch_size=8, shuffle=True, seed=0)))
    assert xb.shape == (8, 3, 32, 32)


def test_valid_cifar100_fine_and_coarse(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    coarse, fine = np.array([0, 19, 5]), np.array([99, 0, 42])
    (tmp_path / "train.bin").write_bytes(records(images, coarse, fine))
    np.testing.assert_array_equal(CIFAR100(tmp_path).targets, fine)
    ds = CIFAR100(tmp_path, label="coarse")
    np.testing.assert_array_equal(ds.targets, coarse)
    assert len(ds.classes) == 20
    np.testing.assert_array_equal(ds.images, images)
    with pytest.raises(ValueError, match="'fine' or 'coarse'"):
        CIFAR100(tmp_path, label="medium")


# ---- broken files -------------------------------------------------------------------------------

def test_truncated_batch(tmp_path):
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(records(np.zeros((2, 3, 32, 32), np.uint8), np.array([1, 2]))[:-10])
    with pytest.raises(ValueError, match=r"6136 bytes is not a whole number of 3073-byte records"
                                         r".*1 records and 3063 bytes left over"):
        read_cifar_binary(p)


def test_empty_batch(tmp_path):
    p = tmp_path / "test_batch.bin"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file; expected records of 3073 bytes"):
        read_cifar_binary(p)


def test_pickled_python_version_is_refused(tmp_path):
    p = tmp_path / "data_batch_1"
    p.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8).tolist(), "labels": [0, 1]},
                               protocol=2))
    with pytest.raises(ValueError, match="Python pickle.*binary version"):
        read_cifar_binary(p)


def test_compressed_archive_is_refused(tmp_path):
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(gzip.compress(b"x" * 3073))
    with pytest.raises(ValueError, match="gzip-compressed.*extract"):
        read_cifar_binary(p)


def test_label_out_of_range_and_wrong_record_size(tmp_path):
    p = tmp_path / "b.bin"
    p.write_bytes(records(np.zeros((3, 3, 32, 32), np.uint8), np.array([1, 10, 2])))
    with pytest.raises(ValueError, match=r"record 1 has label 10 in label byte 0, expected 0..9"):
        read_cifar_binary(p)
    # a CIFAR-100 file read as CIFAR-10 does not divide into 3073-byte records
    p.write_bytes(records(np.zeros((3, 3, 32, 32), np.uint8), np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="3073-byte records"):
        read_cifar_binary(p)


def test_missing_batches(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        CIFAR10(tmp_path)
    make_cifar10(tmp_path)
    (tmp_path / "data_batch_4.bin").unlink()
    with pytest.raises(FileNotFoundError, match="missing.*data_batch_4.bin"):
        CIFAR10(tmp_path)
