"""ac.load_torch: PyTorch's zip checkpoints read without torch and without running pickled code.

The committed fixtures in tests/data/torch/ were written by torch 2.13 (make_fixtures.py there).
``write_torch_zip`` below is a minimal writer of the same format; it is checked against those
fixtures (same arrays read back), and `make parity` checks that torch.load(...,
weights_only=True) reads what it writes; it writes the full ResNet-18 state dict that must load
into ac.models.resnet18() by torchvision's names. The parity suite also loads a ResNet-18 state
dict that PyTorch itself saves (tests/parity/test_applications_parity.py).
"""

import builtins
import io
import json
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.cli import main as cli_main

DATA = Path(__file__).resolve().parent / "data"
TORCH = DATA / "torch"

_STORAGE = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
            np.dtype(np.int64): "LongStorage", np.dtype(np.int32): "IntStorage",
            np.dtype(np.uint8): "ByteStorage", np.dtype(np.bool_): "BoolStorage",
            np.dtype(np.float16): "HalfStorage"}


def _unicode(s: str) -> bytes:
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def _tuple(items) -> bytes:
    return b"(" + b"".join(items) + b"t"


def write_torch_zip(state: dict, f, name: str = "archive") -> None:
    """torch.save's layout for a flat {str: ndarray} dict, written with raw pickle opcodes
    (protocol 2, as torch does): OrderedDict(), then SETITEMS of _rebuild_tensor_v2 calls whose
    storages are persistent ids ('storage', torch.<T>Storage, key, 'cpu', numel)."""
    out = [b"\x80\x02", b"ccollections\nOrderedDict\n", b")R", b"("]
    storages = []
    for key, arr in state.items():
        arr = np.asarray(arr, order="C")          # (ascontiguousarray makes 0-d 1-d)
        skey = str(len(storages))
        storages.append(arr)
        pid = _tuple([_unicode("storage"), f"ctorch\n{_STORAGE[arr.dtype]}\n".encode(),
                      _unicode(skey), _unicode("cpu"), _int(arr.size)])
        strides = [s // arr.itemsize for s in arr.strides]
        args = _tuple([pid + b"Q", _int(0), _tuple(map(_int, arr.shape)),
                       _tuple(map(_int, strides)), b"\x89",
                       b"ccollections\nOrderedDict\n)R"])
        out += [_unicode(key), b"ctorch._utils\n_rebuild_tensor_v2\n", args, b"R"]
    out += [b"u", b"."]
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", b"".join(out))
        z.writestr(f"{name}/.format_version", "1")
        z.writestr(f"{name}/byteorder", "little")
        for i, arr in enumerate(storages):
            z.writestr(f"{name}/data/{i}", arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        z.writestr(f"{name}/version", "3\n")


def _tiny_expected():
    shapes = [("0.weight", (2, 1, 3, 3)), ("0.bias", (2,)), ("1.weight", (2,)),
              ("1.bias", (2,)), ("1.running_mean", (2,)), ("1.running_var", (2,)),
              ("1.num_batches_tracked", ()), ("3.weight", (3, 2)), ("3.bias", (3,))]
    out = OrderedDict()
    for i, (k, shape) in enumerate(shapes):
        if k.endswith("num_batches_tracked"):
            out[k] = np.array(7, np.int64)
        else:
            out[k] = (np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) / 10
                      + np.float32(i))
    return out


def test_reads_a_torch_state_dict_with_names_order_and_values():
    sd = ac.load_torch(TORCH / "tiny_state.pth")
    expected = _tiny_expected()
    assert isinstance(sd, OrderedDict) and list(sd) == list(expected)
    for k, v in expected.items():
        assert isinstance(sd[k], ac.Tensor) and sd[k].dtype == v.dtype
        np.testing.assert_allclose(sd[k].numpy(), v, rtol=1e-6)
    assert not hasattr(sd, "_metadata")            # the layer-version record is dropped


def test_result_loads_into_a_model_by_name():
    model = ac.nn.Sequential(ac.nn.Conv2d(1, 2, 3), ac.nn.BatchNorm2d(2), ac.nn.Flatten(),
                             ac.nn.Linear(2, 3))
    model.load_state_dict(ac.load_torch(TORCH / "tiny_state.pth"))
    np.testing.assert_allclose(model[3].bias.detach().numpy(), [8.0, 8.1, 8.2], rtol=1e-6)
    assert model[1].num_batches_tracked.item() == 7


def test_views_dtypes_and_half_precision_upcast():
    sd = ac.load_torch(TORCH / "dtypes_views.pth")
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(sd["transposed"].numpy(), base.T)
    np.testing.assert_array_equal(sd["column"].numpy(), base[:, 1])
    assert sd["bf16"].dtype == np.float32 and sd["f16"].dtype == np.float32
    np.testing.assert_array_equal(sd["bf16"].numpy(), [1.5, -2.0, 3.140625])
    np.testing.assert_array_equal(sd["f16"].numpy(), [0.5, -0.25])
    assert sd["f64"].dtype == np.float64 and sd["f64"].shape == (1, 2)
    np.testing.assert_array_equal(sd["i32"].numpy(), np.array([-3, 4], np.int32))
    np.testing.assert_array_equal(sd["u8"].numpy(), np.array([255, 1], np.uint8))
    np.testing.assert_array_equal(sd["flag"].numpy(), [True, False])
    assert sd["scalar"].shape == () and sd["scalar"].item() == 5
    assert sd["empty"].shape == (0, 3)


def test_nested_checkpoint_with_plain_containers_and_a_parameter():
    ck = ac.load_torch(TORCH / "nested.pth")
    assert ck["epoch"] == 3 and ck["lr"] == 0.1 and ck["names"] == ["a", "b"]
    assert ck["pair"] == (1, None) and ck["ok"] is True
    assert isinstance(ck["weight"], ac.nn.Parameter) and ck["weight"].requires_grad
    np.testing.assert_array_equal(ck["state_dict"]["w"].numpy(), [0.0, 1.0, 2.0])


def test_legacy_pickle_is_refused():
    with pytest.raises(ac.CheckpointError, match="legacy"):
        ac.load_torch(TORCH / "legacy.pth")


def test_writer_matches_the_torch_fixture(tmp_path):
    path = tmp_path / "w.pth"
    with open(path, "wb") as f:
        write_torch_zip(_tiny_expected(), f)
    mine, theirs = ac.load_torch(path), ac.load_torch(TORCH / "tiny_state.pth")
    assert list(mine) == list(theirs)
    for k in theirs:
        assert mine[k].dtype == theirs[k].dtype
        np.testing.assert_array_equal(mine[k].numpy(), theirs[k].numpy())
    # the same pickle program shape as torch's: the same globals in the same order
    with zipfile.ZipFile(TORCH / "tiny_state.pth") as z:
        torch_pkl = z.read("tiny_state/data.pkl")
    with zipfile.ZipFile(path) as z:
        my_pkl = z.read("archive/data.pkl")

    def globals_in(pkl):
        import pickletools
        return [arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"]
    assert set(globals_in(my_pkl)) == set(globals_in(torch_pkl))


def test_resnet18_state_dict_in_torch_format_loads_by_name(tmp_path):
    """A full ResNet-18 state dict under torchvision's names and shapes (from the recorded key
    list), written in torch's format, loads into ac.models.resnet18() and gives its values."""
    spec = json.loads((DATA / "torchvision_state_dicts.json").read_text())["resnet18"]["keys"]
    rng = np.random.default_rng(0)
    state = OrderedDict()
    for key, shape in spec:
        shape = tuple(shape)
        state[key] = (np.array(3, np.int64) if key.endswith("num_batches_tracked")
                      else rng.standard_normal(shape).astype(np.float32))
    path = tmp_path / "resnet18.pth"
    with open(path, "wb") as f:
        write_torch_zip(state, f)
    model = ac.models.resnet18()
    model.load_state_dict(ac.load_torch(path))
    got = model.state_dict()
    assert list(got) == list(state)
    for k in ("conv1.weight", "layer4.1.bn2.running_var", "fc.bias"):
        np.testing.assert_array_equal(got[k].numpy(), state[k])


class _Payload:
    """Unpickling this opens (creates) a file: the side effect a safe reader must not cause."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def _malicious_zip(path, payload_obj):
    pkl = pickle.dumps(OrderedDict(w=payload_obj), protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", pkl)
        z.writestr("evil/version", "3\n")
    return pkl


def test_malicious_pickle_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    pkl = _malicious_zip(tmp_path / "evil.pth", _Payload(marker))
    pickle.loads(pkl)                                  # the payload is real: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ac.CheckpointError, match=r"builtins\.(io\.)?open|refused"):
        ac.load_torch(tmp_path / "evil.pth")
    assert not marker.exists()


def test_build_on_a_non_dict_is_refused(tmp_path):
    # OrderedDict is allowed, but a BUILD opcode aimed at a tensor record is not
    pkl = (b"\x80\x02ccollections\nOrderedDict\n)R}b.")
    ok = tmp_path / "ok.pth"
    with zipfile.ZipFile(ok, "w") as z:
        z.writestr("a/data.pkl", pkl)
    assert ac.load_torch(ok) == OrderedDict()
    bad = tmp_path / "bad.pth"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("a/data.pkl", b"\x80\x02ctorch\nFloatStorage\n}b.")
    with pytest.raises(ac.CheckpointError, match="state of a _StorageType"):
        ac.load_torch(bad)


def test_other_files_get_clear_errors(tmp_path):
    txt = tmp_path / "t.pth"
    txt.write_text("hello")
    with pytest.raises(ac.CheckpointError, match="not a zip archive"):
        ac.load_torch(txt)
    jit = tmp_path / "jit.pt"
    with zipfile.ZipFile(jit, "w") as z:
        z.writestr("m/data.pkl", b"\x80\x02}.")
        z.writestr("m/constants.pkl", b"\x80\x02}.")
    with pytest.raises(ac.CheckpointError, match="TorchScript"):
        ac.load_torch(jit)
    short = tmp_path / "short.pth"
    buf = io.BytesIO()
    write_torch_zip({"w": np.ones(4, np.float32)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(short, "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n)[:8] if n.endswith("data/0") else src.read(n))
    with pytest.raises(ac.CheckpointError, match="has 8 bytes, expected 4 x 4"):
        ac.load_torch(short)


def _safetensors(path, entries):
    header, blobs, off = {}, [], 0
    for name, (code, shape, raw) in entries.items():
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_safetensors_bf16_and_f16_load_upcast(tmp_path):
    # bf16 bits of 1.5, -2.0, 3.140625 (torch: x.view(torch.int16)): 0x3FC0, 0xC000, 0x4049
    bf16 = np.array([0x3FC0, 0xC000, 0x4049], "<u2").tobytes()
    f16 = np.array([0.5, -0.25], "<f2").tobytes()
    path = tmp_path / "half.safetensors"
    _safetensors(path, {"a": ("BF16", [3], bf16), "b": ("F16", [1, 2], f16)})
    sd = ac.load(path)
    assert sd["a"].dtype == np.float32 and sd["b"].dtype == np.float32
    np.testing.assert_array_equal(sd["a"].numpy(), [1.5, -2.0, 3.140625])
    np.testing.assert_array_equal(sd["b"].numpy(), [[0.5, -0.25]])


def test_cli_convert_writes_a_safetensors_file(tmp_path, capsys):
    out = tmp_path / "tiny.safetensors"
    assert cli_main(["convert", str(TORCH / "tiny_state.pth"), str(out)]) == 0
    assert "9 tensors" in capsys.readouterr().out
    sd = ac.load(out)
    np.testing.assert_allclose(sd["3.bias"].numpy(), [8.0, 8.1, 8.2], rtol=1e-6)
    assert cli_main(["convert", str(TORCH / "legacy.pth"), str(out)]) == 2
    assert "legacy" in capsys.readouterr().err
