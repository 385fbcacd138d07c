"""Checkpoint integrity: the header is checksummed too (every one-byte corruption of a small
file's header is detected or loads the same values), malformed headers are always
CheckpointError, and saving through a symbolic link writes the link's target."""

import io
import json
import os
import struct

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.serialization import CheckpointError


def _same(a, b) -> bool:
    if isinstance(a, ac.Tensor) or isinstance(b, ac.Tensor):
        return (type(a) is type(b) and a.requires_grad == b.requires_grad
                and _same(a._data, b._data))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b))
    if isinstance(a, dict):
        return (type(a) is type(b) and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def test_every_one_byte_corruption_of_the_header_is_detected_or_harmless(tmp_path):
    obj = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([1, 2], np.int64),
           "step": 3, "t": ac.tensor([1.5, -2.0])}
    path = tmp_path / "small.safetensors"
    ac.save(obj, path)
    good = path.read_bytes()
    n = struct.unpack("<Q", good[:8])[0]
    silent, detected = [], 0
    # every byte of the length field and of the header, set to every other value
    values = range(256)
    for pos in range(8 + n):
        for v in values:
            if v == good[pos]:
                continue
            data = bytearray(good)
            data[pos] = v
            try:
                back = ac.load(io.BytesIO(bytes(data)))      # a stream: no file system time
            except CheckpointError:
                detected += 1
                continue
            if not _same(back, obj):
                silent.append((pos, chr(good[pos]), chr(v)))
    assert not silent, f"{len(silent)} corruptions loaded other values, e.g. {silent[:5]}"
    assert detected > 250 * (8 + n) * 0.9         # nearly all are errors, not harmless


def test_the_header_checksum_keeps_it_a_safetensors_header(tmp_path):
    path = tmp_path / "m.safetensors"
    ac.save({"a": np.zeros(3, np.float32)}, path)
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header["__metadata__"]
    # the safetensors library requires __metadata__ to map strings to strings
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    assert len(meta["header_crc32"]) == 8 and meta["version"] == "2"
    # the same header written with other spacing and key order loads the same
    respaced = json.dumps(dict(reversed(list(header.items()))), indent=1).encode()
    respaced += b" " * (-len(respaced) % 8)
    path.write_bytes(struct.pack("<Q", len(respaced)) + respaced + data[8 + n:])
    np.testing.assert_array_equal(ac.load(path)["a"], np.zeros(3, np.float32))


def test_a_version_one_file_without_header_checksum_still_loads(tmp_path):
    a = np.arange(4, dtype="<f8")
    import zlib
    meta = {"format": "autograd_cnn", "version": "1", "crc32": f"{zlib.crc32(a.tobytes()):08x}",
            "structure": json.dumps({"dict": [["a", {"array": "a", "kind": "ndarray"}]]})}
    text = json.dumps({"a": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]},
                       "__metadata__": meta}).encode()
    path = tmp_path / "v1.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + a.tobytes())
    np.testing.assert_array_equal(ac.load(path)["a"], a)
    meta["version"] = "2"                      # a version-2 file must carry its checksum
    text = json.dumps({"a": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]},
                       "__metadata__": meta}).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + a.tobytes())
    with pytest.raises(CheckpointError, match="no header checksum"):
        ac.load(path)


def _forged(tmp_path, header: dict, body: bytes = b"") -> str:
    text = json.dumps(header).encode()
    path = tmp_path / "forged.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)
    return path


@pytest.mark.parametrize("structure", [
    {"tuple": 5}, {"dict": [[[1, 2], 3]]}, {"dict": 7}, {"array": ["x"]},
    {"dict": [[{"tuple": [[]]}, 1]]}, "[" * 5000, "not json",
])
def test_malformed_structure_records_are_checkpoint_errors(tmp_path, structure):
    text = structure if isinstance(structure, str) else json.dumps(structure)
    path = _forged(tmp_path, {"__metadata__": {"format": "autograd_cnn", "version": "1",
                                               "structure": text}})
    with pytest.raises(CheckpointError):
        ac.load(path)


@pytest.mark.parametrize("entry", [
    {"dtype": "F32", "shape": [2 ** 62, 4], "data_offsets": [0, 0]},     # int64 overflow
    {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]},
    {"dtype": "F32", "shape": "ab", "data_offsets": [0, 4]},
    {"dtype": "F32", "shape": [1], "data_offsets": 4},
    {"dtype": "F32", "shape": [1], "data_offsets": [0, 2, 4]},
    "F32", None, [1, 2],
])
def test_malformed_header_entries_are_checkpoint_errors(tmp_path, entry):
    with pytest.raises(CheckpointError):
        ac.load(_forged(tmp_path, {"x": entry}, b"\0" * 4))


def test_deeply_nested_header_is_a_checkpoint_error(tmp_path):
    text = b"{" + b'"a":[' * 100000 + b"]" * 100000 + b"}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(CheckpointError):
        ac.load(path)


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    target_dir = tmp_path / "store"
    target_dir.mkdir()
    target = target_dir / "real.safetensors"
    ac.save({"v": np.zeros(2)}, target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    ac.save({"v": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(ac.load(target)["v"], np.ones(2))
    assert sorted(p.name for p in target_dir.iterdir()) == ["real.safetensors"]
