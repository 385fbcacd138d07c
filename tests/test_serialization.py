"""Checkpoints: round trips of nested state, bit-identical resumption, atomic saves that survive
crashes, refusal of pickles (without running them), and clear errors for truncated, corrupted
and foreign files."""

import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import optim, serialization
from autograd_cnn.optim import lr_scheduler

pytestmark = pytest.mark.nojit


def temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


# ---- round trips -------------------------------------------------------------------------------


def test_nested_objects_round_trip_with_their_types(tmp_path):
    big_endian = np.arange(6, dtype=">f8").reshape(2, 3)
    obj = {
        "tensor": ac.tensor([[1.5, -2.0]], requires_grad=True),
        "param": nn.Parameter(ac.ones(2, dtype="float64")),
        "arrays": [np.zeros((0, 3), np.float32), np.array(7, np.int64), np.array([True, False]),
                   np.arange(4, dtype=np.float16), np.arange(12, dtype=np.uint8)[::3],
                   big_endian, np.arange(6, dtype=np.int32).reshape(2, 3).T],
        "scalars": [0, -1, 2 ** 100, 0.1, float("inf"), -0.0, True, False, None, "héllo ✓", ""],
        "numpy_scalars": [np.float32(0.5), np.int64(3), np.bool_(True)],
        "tuple": (1, (2.0, "three"), []),
        "int_keys": {0: "a", 10: {"nested": {}}},
        "odd_keys": {None: 1, 2.5: 2, True: 3, (1, "x"): 4},
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
    }
    path = tmp_path / "ck.act"
    ac.save(obj, path)
    back = ac.load(path)
    assert list(back) == list(obj)
    assert isinstance(back["tensor"], ac.Tensor) and back["tensor"].requires_grad
    np.testing.assert_array_equal(back["tensor"]._data, [[1.5, -2.0]])
    assert back["tensor"].dtype == np.float32
    assert isinstance(back["param"], nn.Parameter) and back["param"].dtype == np.float64
    for got, want in zip(back["arrays"], obj["arrays"]):
        assert isinstance(got, np.ndarray) and got.shape == want.shape
        assert got.dtype == want.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, want)
    assert back["scalars"][:4] == [0, -1, 2 ** 100, 0.1] and back["scalars"][4] == math.inf
    assert math.copysign(1, back["scalars"][5]) == -1
    assert back["scalars"][6:] == [True, False, None, "héllo ✓", ""]
    assert [type(v) for v in back["scalars"][:3]] == [int, int, int]
    assert back["numpy_scalars"] == [0.5, 3, True]
    assert back["tuple"] == (1, (2.0, "three"), [])
    assert back["int_keys"] == {0: "a", 10: {"nested": {}}}
    assert back["odd_keys"] == {None: 1, 2.5: 2, True: 3, (1, "x"): 4}
    assert type(back["ordered"]) is OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert math.isnan(ac.load(_saved(tmp_path, {"x": float("nan")}))["x"])


def _saved(tmp_path, obj, name="x.act"):
    path = tmp_path / name
    ac.save(obj, path)
    return path


def test_model_and_optimizer_state_dicts_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = optim.AdamW([{"params": model[0].parameters(), "lr": 0.01, "name": "first"},
                       {"params": model[1:].parameters()}], weight_decay=0.05, amsgrad=True)
    model(ac.randn(5, 3)).sum().backward()
    opt.step()
    path = _saved(tmp_path, {"model": model.state_dict(), "opt": opt.state_dict()})
    back = ac.load(path)
    assert list(back["model"]) == list(model.state_dict())
    for k, v in model.state_dict().items():
        assert back["model"][k].dtype == v.dtype
        np.testing.assert_array_equal(back["model"][k]._data, v._data)
    groups = back["opt"]["param_groups"]
    assert groups[0]["lr"] == 0.01 and groups[0]["name"] == "first"
    assert groups[1]["betas"] == (0.9, 0.999) and groups[1]["weight_decay"] == 0.05
    assert groups[1]["amsgrad"] is True and groups[1]["params"] == [2, 3, 4, 5]
    assert set(back["opt"]["state"]) == set(range(6))
    assert back["opt"]["state"][0]["step"] == 1
    np.testing.assert_array_equal(back["opt"]["state"][2]["max_exp_avg_sq"],
                                  opt.state[model[1].weight]["max_exp_avg_sq"])


def test_file_objects_work_too():
    buffer = io.BytesIO()
    ac.save({"w": np.arange(3.0)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(ac.load(buffer)["w"], [0.0, 1.0, 2.0])


# ---- resuming ----------------------------------------------------------------------------------


def _make_run(seed):
    ac.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    adam_model = nn.Linear(4, 3)
    adam = optim.Adam(adam_model.parameters(), lr=0.01)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, adam_model, adam, sched


def _train_step(step, model, opt, adam_model, adam, sched):
    rng = np.random.default_rng(step)                   # the data of step `step`
    x = ac.tensor(rng.standard_normal((8, 4)).astype(np.float32))
    y = rng.integers(0, 3, 8)
    for m, o in ((model, opt), (adam_model, adam)):
        o.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        o.step()
    sched.step()


def test_resume_after_five_steps_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    straight = _make_run(seed=0)
    for step in range(1, 7):
        _train_step(step, *straight)

    first = _make_run(seed=0)
    for step in range(1, 6):
        _train_step(step, *first)
    model, opt, adam_model, adam, sched = first
    ac.save({"model": model.state_dict(), "opt": opt.state_dict(),
             "adam_model": adam_model.state_dict(), "adam": adam.state_dict(),
             "sched": sched.state_dict(), "step": 5,
             "rng": ac.random.default_generator().bit_generator.state}, tmp_path / "ck.act")

    resumed = _make_run(seed=123)             # different initial weights: everything must load
    model, opt, adam_model, adam, sched = resumed
    ck = ac.load(tmp_path / "ck.act")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    adam_model.load_state_dict(ck["adam_model"])
    adam.load_state_dict(ck["adam"])
    sched.load_state_dict(ck["sched"])
    ac.random.default_generator().bit_generator.state = ck["rng"]     # dropout's masks
    _train_step(ck["step"] + 1, *resumed)

    for a, b in ((straight[0], resumed[0]), (straight[2], resumed[2])):
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert va._data.tobytes() == vb._data.tobytes(), k          # bit-identical
    assert straight[1].param_groups[0]["lr"] == resumed[1].param_groups[0]["lr"] == 0.1 * 0.5 ** 3


# ---- atomic saving -----------------------------------------------------------------------------


def test_an_exception_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"w": np.arange(5.0)}, "ck.act")
    old_bytes = path.read_bytes()

    def failing_write(f, encoder, structure):
        f.write(b"half a checkpoint")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        ac.save({"w": np.zeros(5)}, path)

    def interrupted(f, encoder, structure):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ac.save({"w": np.zeros(5)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    np.testing.assert_array_equal(ac.load(path)["w"], np.arange(5.0))
    assert temporaries(tmp_path) == []


def test_a_failing_rename_leaves_no_temporary(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"w": np.arange(5.0)}, "ck.act")

    def no_replace(src, dst):
        raise PermissionError("simulated")

    monkeypatch.setattr(serialization.os, "replace", no_replace)
    with pytest.raises(PermissionError):
        ac.save({"w": np.zeros(5)}, path)
    monkeypatch.undo()
    assert temporaries(tmp_path) == [] and ac.load(path)["w"][1] == 1.0


def test_a_process_killed_mid_save_leaves_the_old_checkpoint_loadable(tmp_path):
    path = _saved(tmp_path, {"w": np.arange(4.0), "epoch": 1}, "ck.act")
    old_bytes = path.read_bytes()
    child = textwrap.dedent(f"""
        import os, numpy as np
        import autograd_cnn as ac
        from autograd_cnn import serialization
        def dying_write(f, encoder, structure):
            f.write(b"x" * 4096)
            f.flush()
            os._exit(3)                   # killed: no exception handler runs
        serialization._write = dying_write
        ac.save({{"w": np.zeros(1000), "epoch": 2}}, {str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert result.returncode == 3, result.stderr.decode()
    assert path.read_bytes() == old_bytes
    assert ac.load(path)["epoch"] == 1
    assert len(temporaries(tmp_path)) == 1          # what the killed process left behind ...
    ac.save({"w": np.zeros(2), "epoch": 2}, path)
    assert temporaries(tmp_path) == []              # ... is removed by the next save
    assert ac.load(path)["epoch"] == 2


def test_unsupported_objects_are_refused_before_any_file_is_touched(tmp_path):
    path = _saved(tmp_path, {"w": 1}, "ck.act")
    old = path.read_bytes()
    with pytest.raises(TypeError, match=r"cannot store a Linear at \['model'\].*state_dict\(\)"):
        ac.save({"model": nn.Linear(1, 1)}, path)
    with pytest.raises(TypeError, match=r"cannot store a set at \['a'\]\[0\]"):
        ac.save({"a": [{1, 2}]}, path)
    with pytest.raises(TypeError, match="dtype complex128"):
        ac.save({"z": np.zeros(2, complex)}, path)
    with pytest.raises(TypeError, match="a dict key .* is a object"):
        ac.save({object(): 1}, path)
    assert path.read_bytes() == old and temporaries(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ac.save({}, tmp_path / "missing" / "ck.act")


def test_saved_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = _saved(tmp_path, {"w": 1})
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


# ---- refusing what is not a checkpoint ---------------------------------------------------------


class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_its_payload_does_not_run(tmp_path):
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"state": _Payload(str(marker))}))
    with pytest.raises(ac.CheckpointError, match="pickle"):
        ac.load(evil)
    assert not marker.exists()
    # the same bytes behind a plausible length field are refused too
    disguised = tmp_path / "disguised.act"
    blob = pickle.dumps(_Payload(str(marker)))
    disguised.write_bytes(struct.pack("<Q", len(blob)) + blob)
    with pytest.raises(ac.CheckpointError, match="not an autograd_cnn/safetensors checkpoint"):
        ac.load(disguised)
    # a PyTorch-style zip holding the pickle
    zipped = tmp_path / "model.pth"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ac.CheckpointError, match="zip archive"):
        ac.load(zipped)
    assert not marker.exists()
    # the payload is live: plain pickle.load does run it (in a child process)
    subprocess.run([sys.executable, "-c",
                    f"import pickle; pickle.load(open({str(evil)!r}, 'rb'))"], check=True,
                   timeout=120, cwd=os.path.dirname(__file__))
    assert marker.exists()


@pytest.mark.parametrize("content,message", [
    (b"", "too short"),
    (b"hello world, just some text\n", "not an autograd_cnn/safetensors checkpoint"),
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, }", "numpy .npy"),
    (struct.pack("<Q", 16) + b"[1, 2, 3]       ", "not an autograd_cnn/safetensors"),
    (struct.pack("<Q", 7) + b"{\"a\": 1", "corrupt header"),
    (struct.pack("<Q", 8) + b"{\"a\": 1}", "corrupt header entry for 'a'"),
    (struct.pack("<Q", 1000) + b"{\"a\": ", "truncated: its header should be 1000 bytes"),
    (struct.pack("<Q", 2 ** 40) + b"{}", "not an autograd_cnn/safetensors"),
])
def test_foreign_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "foreign.act"
    path.write_bytes(content)
    with pytest.raises(ac.CheckpointError, match=message):
        ac.load(path)


def test_truncated_files_raise_clear_errors(tmp_path):
    path = _saved(tmp_path, {"w": np.arange(100.0), "b": np.ones(3, np.float32)})
    data = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    for cut in (0, 5, 8, 40, header_end - 1, header_end, header_end + 17, len(data) - 1):
        bad = tmp_path / f"cut{cut}.act"
        bad.write_bytes(data[:cut])
        with pytest.raises(ac.CheckpointError, match="truncated|too short"):
            ac.load(bad)
    with pytest.raises(ac.CheckpointError, match="truncated inside array"):
        ac.load(io.BytesIO(data[:-1]))             # a stream: noticed while reading


def test_corruption_is_detected(tmp_path):
    path = _saved(tmp_path, {"w": np.arange(100.0)})
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF                                # one flipped byte in the array data
    path.write_bytes(bytes(data))
    with pytest.raises(ac.CheckpointError, match="checksum"):
        ac.load(path)
    path.write_bytes(bytes(data) + b"extra")
    with pytest.raises(ac.CheckpointError, match="unexpected bytes"):
        ac.load(path)


def test_corrupt_structure_records_are_reported(tmp_path):
    def forged(structure):
        header = {"__metadata__": {"format": "autograd_cnn", "structure": json.dumps(structure)}}
        text = json.dumps(header).encode()
        path = tmp_path / "forged.act"
        path.write_bytes(struct.pack("<Q", len(text)) + text)
        return path

    with pytest.raises(ac.CheckpointError, match="missing array 'w'"):
        ac.load(forged({"dict": [["w", {"array": "w", "kind": "ndarray"}]]}))
    with pytest.raises(ac.CheckpointError, match="unknown tag"):
        ac.load(forged({"pickle": "cos\nsystem\n"}))


# ---- the safetensors layout --------------------------------------------------------------------


def test_a_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    path = _saved(tmp_path, model.state_dict())
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    assert n % 8 == 0
    names = [k for k in header if k != "__metadata__"]
    assert names == list(model.state_dict())           # tensors under their state-dict names
    entry = header["0.weight"]
    assert entry["dtype"] == "F32" and entry["shape"] == [2, 3]
    begin, end = entry["data_offsets"]
    raw = np.frombuffer(data[8 + n + begin:8 + n + end], "<f4").reshape(2, 3)
    np.testing.assert_array_equal(raw, model[0].weight._data)
    assert header["1.num_batches_tracked"]["dtype"] == "I64"


def test_a_plain_safetensors_file_from_another_tool_loads_as_a_dict(tmp_path):
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([1, 2], dtype="<i8")
    header = {"b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
              "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
    text = json.dumps(header).encode()
    path = tmp_path / "other.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + a.tobytes() + b.tobytes())
    back = ac.load(path)
    assert list(back) == ["b", "a"]
    np.testing.assert_array_equal(back["a"]._data, a)
    np.testing.assert_array_equal(back["b"]._data, b)
