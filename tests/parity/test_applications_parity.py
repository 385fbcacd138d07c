"""Issue 15's pieces against PyTorch 2.13, live: box IoU, NMS and batched NMS, the Dice loss,
the Gram-matrix style and content losses and the squared triplet loss on the same inputs (values
and gradients, float64 and float32); and ``ac.load_torch`` on files that this PyTorch writes
(a ResNet-18 state dict under torchvision's names, a training checkpoint, half-precision
tensors, a legacy pickle and a malicious one).

torchvision cannot be installed beside torch 2.13 here (PyPI's torchvision fails to import
beside it), so torchvision.ops' box_iou, nms and batched_nms are written below in torch, from
torchvision's published code (torchvision/ops/boxes.py and csrc/ops/cpu/nms_kernel.cpp), and its
ResNet-18 is rebuilt from torch.nn layers with torchvision's module names (checked against the
recorded torchvision key list, tests/data/torchvision_state_dicts.json). PyTorch has no Dice,
Gram or squared triplet loss: those are built from torch ops, the squared triplet with PyTorch's
own ``triplet_margin_with_distance_loss``."""

from __future__ import annotations

import builtins
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import ops
from autograd_cnn.cli import main as cli_main
from autograd_cnn.nn.style import content_loss, gram_matrix, style_loss

TNN = torch.nn
TF = torch.nn.functional
DATA = Path(__file__).resolve().parents[1] / "data"
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _pair(a, dtype, grad=True):
    a = np.asarray(a, dtype)
    return ac.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _check_grads(ours_out, theirs_out, ours_in, theirs_in, dtype, rng):
    """Forward values equal, then the gradients of a random projection of the output."""
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(),
                               **TOL[dtype], err_msg="forward")
    proj = rng.standard_normal(ours_out.shape).astype(dtype)
    ours_out.backward(ac.tensor(proj))
    theirs_out.backward(torch.from_numpy(proj))
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **TOL[dtype],
                                   err_msg=f"gradient of input {i}")


def _random_boxes(rng, n, scale=20.0, size=(1.0, 8.0)):
    xy = rng.uniform(0, scale, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(*size, (n, 2))], axis=1)


# ---- torchvision.ops, in torch (torchvision/ops/boxes.py, csrc/ops/cpu/nms_kernel.cpp) -------

def tv_box_area(boxes):
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def tv_box_iou(boxes1, boxes2):
    area1, area2 = tv_box_area(boxes1), tv_box_area(boxes2)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area1[:, None] + area2 - inter
    return inter / union


def tv_nms(boxes, scores, iou_threshold):
    """nms_kernel.cpp: a stable descending sort of the scores, then every box not yet
    suppressed is kept and suppresses the later boxes whose IoU with it is > threshold."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    order = scores.sort(stable=True, descending=True).indices
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for pos, i in enumerate(order.tolist()):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[pos + 1:]
        w = (torch.min(x2[i], x2[rest]) - torch.max(x1[i], x1[rest])).clamp(min=0)
        h = (torch.min(y2[i], y2[rest]) - torch.max(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        suppressed[rest[inter / (areas[i] + areas[rest] - inter) > iou_threshold]] = True
    return torch.tensor(keep, dtype=torch.int64)


def tv_batched_nms_vanilla(boxes, scores, idxs, iou_threshold):
    keep_mask = torch.zeros_like(scores, dtype=torch.bool)
    for class_id in torch.unique(idxs):
        curr = torch.where(idxs == class_id)[0]
        keep_mask[curr[tv_nms(boxes[curr], scores[curr], iou_threshold)]] = True
    keep = torch.where(keep_mask)[0]
    return keep[scores[keep].sort(descending=True)[1]]


def tv_batched_nms_coordinate_trick(boxes, scores, idxs, iou_threshold):
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    return tv_nms(boxes + offsets[:, None], scores, iou_threshold)


@pytest.mark.parametrize("dtype", DTYPES)
def test_box_iou_matches_torchvision(dtype):
    rng = np.random.default_rng(0)
    b1, t1 = _pair(_random_boxes(rng, 7), dtype)
    b2, t2 = _pair(_random_boxes(rng, 5), dtype)
    ours, theirs = ops.box_iou(b1, b2), tv_box_iou(t1, t2)
    assert ours.shape == (7, 5) and (theirs > 0).any() and (theirs == 0).any()
    _check_grads(ours, theirs, [b1, b2], [t1, t2], dtype, rng)
    np.testing.assert_allclose(ops.box_area(b1).detach().numpy(), tv_box_area(t1).detach(),
                               **TOL[dtype])


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.5, 0.8])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nms_matches_torchvision(dtype, threshold):
    rng = np.random.default_rng(1)
    for trial in range(5):
        boxes = _random_boxes(rng, 60, scale=30.0).astype(dtype)
        scores = rng.uniform(0, 1, 60).astype(dtype)
        if trial == 0:
            scores = np.round(scores * 4) / 4              # many ties: the stable order decides
        ours = ops.nms(boxes, scores, threshold).numpy()
        theirs = tv_nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).numpy()
        assert 0 < len(theirs) <= 60
        np.testing.assert_array_equal(ours, theirs, err_msg=f"trial {trial}")


def test_nms_at_the_threshold_and_empty_like_torchvision():
    boxes = torch.tensor([[0.0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 2, 2]], dtype=torch.float64)
    scores = torch.tensor([0.5, 0.4, 0.3], dtype=torch.float64)
    iou = float(tv_box_iou(boxes[:1], boxes[1:2]))         # 1/7 exactly as both compute it
    for thr in (iou, np.nextafter(iou, 0), 1.0):
        np.testing.assert_array_equal(ops.nms(boxes.numpy(), scores.numpy(), thr).numpy(),
                                      tv_nms(boxes, scores, thr).numpy(), err_msg=str(thr))
    assert ops.nms(np.zeros((0, 4)), np.zeros(0), 0.5).numpy().tolist() == \
        tv_nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_nms_matches_torchvision(dtype):
    rng = np.random.default_rng(2)
    for trial in range(5):
        boxes = _random_boxes(rng, 80, scale=25.0).astype(dtype)
        scores = rng.uniform(0, 1, 80).astype(dtype)
        idxs = rng.integers(0, 4, 80)
        tb, ts, ti = torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs)
        ours = ops.batched_nms(boxes, scores, idxs, 0.3).numpy()
        vanilla = tv_batched_nms_vanilla(tb, ts, ti, 0.3).numpy()
        trick = tv_batched_nms_coordinate_trick(tb, ts, ti, 0.3).numpy()
        np.testing.assert_array_equal(ours, vanilla, err_msg=f"trial {trial}")
        np.testing.assert_array_equal(ours, trick, err_msg=f"trial {trial}")
        assert len(ours) > len(tv_nms(tb, ts, 0.3))           # categories do not suppress


# ---- Dice, Gram / style / content, the squared triplet loss -----------------------------------

def torch_dice(scores, target, smooth=1.0, reduction="mean"):
    c = scores.shape[1]
    p = torch.softmax(scores, dim=1)
    one_hot = TF.one_hot(target, c).movedim(-1, 1).to(scores.dtype)
    dims = (0, *range(2, scores.ndim))
    inter = (p * one_hot).sum(dims)
    loss = 1 - (2 * inter + smooth) / (p.sum(dims) + one_hot.sum(dims) + smooth)
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,smooth", [((3, 4, 5, 6), 1.0), ((2, 3, 7), 0.5),
                                          ((2, 2, 3, 4, 2), 1e-3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dice_loss_matches_torch(dtype, shape, smooth, reduction):
    rng = np.random.default_rng(3)
    x, tx = _pair(rng.standard_normal(shape) * 2, dtype)
    target = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    ours = F.dice_loss(x, target, smooth=smooth, reduction=reduction)
    theirs = torch_dice(tx, torch.from_numpy(target), smooth, reduction)
    _check_grads(ours, theirs, [x], [tx], dtype, rng)


def torch_gram(f, normalize=True):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    g = torch.bmm(flat, flat.transpose(1, 2))
    return g / (c * h * w) if normalize else g


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_matrix_matches_torch(dtype, normalize):
    rng = np.random.default_rng(4)
    f, tf = _pair(rng.standard_normal((2, 3, 4, 5)), dtype)
    _check_grads(gram_matrix(f, normalize), torch_gram(tf, normalize), [f], [tf], dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_style_and_content_losses_match_torch(dtype):
    rng = np.random.default_rng(5)
    # two layers; the style image has its own size (only (C, C) Gram matrices are compared)
    g1, tg1 = _pair(rng.standard_normal((2, 3, 6, 5)), dtype)
    g2, tg2 = _pair(rng.standard_normal((2, 4, 3, 3)), dtype)
    s1 = rng.standard_normal((1, 3, 8, 7)).astype(dtype)
    s2 = rng.standard_normal((1, 4, 4, 4)).astype(dtype)
    weights = (0.7, 2.0)
    ours = style_loss([g1, g2], [ac.tensor(s1), ac.tensor(s2)], weights)
    theirs = sum(w * ((torch_gram(g) - torch_gram(torch.from_numpy(s))) ** 2).sum() / g.shape[0]
                 for w, g, s in zip(weights, (tg1, tg2), (s1, s2)))
    _check_grads(ours, theirs, [g1, g2], [tg1, tg2], dtype, rng)
    c, tc = _pair(rng.standard_normal((2, 3, 6, 5)), dtype)
    target = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    _check_grads(content_loss(c, ac.tensor(target)), TF.mse_loss(tc, torch.from_numpy(target)),
                 [c], [tc], dtype, rng)


def _squared_distance(x, y):
    return (x - y).pow(2).sum(-1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha", [0.2, 1.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_squared_triplet_loss_matches_torch(dtype, alpha, reduction):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((16, 5)) * 0.6 for _ in range(3)]
    ours_in = [_pair(a, dtype)[0] for a in arrays]
    theirs_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ours = F.squared_triplet_loss(*ours_in, alpha=alpha, reduction=reduction)
    theirs = TF.triplet_margin_with_distance_loss(*theirs_in, distance_function=_squared_distance,
                                                  margin=alpha, reduction=reduction)
    per_sample = TF.triplet_margin_with_distance_loss(
        *[t.detach() for t in theirs_in], distance_function=_squared_distance, margin=alpha,
        reduction="none")
    assert (per_sample == 0).any() and (per_sample > 0).any()    # both sides of the hinge
    _check_grads(ours, theirs, ours_in, theirs_in, dtype, rng)


@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, False), (2.0, True), (3.0, True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pytorchs_triplet_margin_loss_beside_it(dtype, p, swap):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((16, 5)) * 0.6 for _ in range(3)]
    ours_in = [_pair(a, dtype)[0] for a in arrays]
    theirs_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ours = F.triplet_margin_loss(*ours_in, margin=0.8, p=p, swap=swap, reduction="none")
    theirs = TF.triplet_margin_loss(*theirs_in, margin=0.8, p=p, swap=swap, reduction="none")
    _check_grads(ours, theirs, ours_in, theirs_in, dtype, rng)


# ---- .pth files written by this PyTorch ----------------------------------------------------------

class TorchBasicBlock(TNN.Module):
    """torchvision.models.resnet.BasicBlock, same attribute names."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = TNN.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = TNN.BatchNorm2d(planes)
        self.relu = TNN.ReLU(inplace=True)
        self.conv2 = TNN.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = TNN.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = TNN.Sequential(TNN.Conv2d(inplanes, planes, 1, stride, bias=False),
                                             TNN.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchResNet18(TNN.Module):
    """torchvision.models.resnet18(): the same modules under the same names."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = TNN.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = TNN.BatchNorm2d(64)
        self.relu = TNN.ReLU(inplace=True)
        self.maxpool = TNN.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, planes in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", TNN.Sequential(TorchBasicBlock(inplanes, planes, stride),
                                                          TorchBasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = TNN.AdaptiveAvgPool2d((1, 1))
        self.fc = TNN.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.fixture(scope="module")
def torch_resnet18():
    torch.manual_seed(0)
    net = TorchResNet18()
    with torch.no_grad():                  # BatchNorm away from its initial identity
        for m in net.modules():
            if isinstance(m, TNN.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(11)
    return net.eval()


def _assert_same_resnet(model, net):
    x = np.random.default_rng(8).standard_normal((2, 3, 64, 64)).astype(np.float32)
    model.eval()
    with ac.no_grad():
        ours = model(ac.tensor(x)).numpy()
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_torchs_resnet18_state_dict_loads_into_ac_resnet18(tmp_path, torch_resnet18):
    recorded = json.loads((DATA / "torchvision_state_dicts.json").read_text())["resnet18"]["keys"]
    sd = torch_resnet18.state_dict()
    assert [[k, list(v.shape)] for k, v in sd.items()] == recorded       # torchvision's names
    path = tmp_path / "resnet18.pth"
    torch.save(sd, path)                                                 # PyTorch 2.x zip format
    loaded = ac.load_torch(path)
    assert list(loaded) == list(sd)
    for k, v in sd.items():
        assert loaded[k].dtype == np.dtype(str(v.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy(), err_msg=k)
    model = ac.models.resnet18()
    model.load_state_dict(loaded)
    assert model.layer4[1].bn2.num_batches_tracked.item() == 11
    _assert_same_resnet(model, torch_resnet18)


def test_cli_convert_of_torchs_file_loads_into_ac_resnet18(tmp_path, torch_resnet18, capsys):
    torch.save(torch_resnet18.state_dict(), tmp_path / "resnet18.pth")
    out = tmp_path / "resnet18.safetensors"
    assert cli_main(["convert", str(tmp_path / "resnet18.pth"), str(out)]) == 0
    assert "122 tensors" in capsys.readouterr().out
    model = ac.models.resnet18()
    model.load_state_dict(ac.load(out))
    _assert_same_resnet(model, torch_resnet18)


def test_a_training_checkpoint_with_optimizer_state(tmp_path):
    torch.manual_seed(1)
    net = TNN.Sequential(TNN.Conv2d(1, 3, 3), TNN.BatchNorm2d(3), TNN.Flatten(),
                         TNN.Linear(12, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 1, 4, 4)).sum().backward()
    opt.step()
    torch.save({"epoch": 5, "model": net.state_dict(), "optimizer": opt.state_dict(),
                "best": (0.25, None), "tied": [net[0].weight, net[0].weight]},
               tmp_path / "ckpt.pt")
    ck = ac.load_torch(tmp_path / "ckpt.pt")
    assert ck["epoch"] == 5 and ck["best"] == (0.25, None)
    groups, theirs = ck["optimizer"]["param_groups"], opt.state_dict()["param_groups"]
    assert groups == theirs and groups[0]["params"] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_array_equal(ck["optimizer"]["state"][0]["momentum_buffer"].numpy(),
                                  opt.state[net[0].weight]["momentum_buffer"].numpy())
    assert isinstance(ck["tied"][0], ac.nn.Parameter)
    np.testing.assert_array_equal(ck["tied"][1].detach().numpy(), net[0].weight.detach().numpy())
    ours = ac.nn.Sequential(ac.nn.Conv2d(1, 3, 3), ac.nn.BatchNorm2d(3), ac.nn.Flatten(),
                            ac.nn.Linear(12, 2))
    ours.load_state_dict(ck["model"])
    x = np.random.default_rng(9).standard_normal((2, 1, 4, 4)).astype(np.float32)
    ours.eval(), net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(ours(ac.tensor(x)).detach().numpy(),
                                   net(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_half_precision_from_torch_upcast(tmp_path):
    rng = np.random.default_rng(10)
    bf16 = torch.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)).to(torch.bfloat16)
    f16 = torch.from_numpy(rng.standard_normal(5).astype(np.float32)).to(torch.float16)
    torch.save({"bf16": bf16, "f16": f16, "bf16_t": bf16.t()}, tmp_path / "half.pth")
    sd = ac.load_torch(tmp_path / "half.pth")
    for k, v in (("bf16", bf16), ("f16", f16), ("bf16_t", bf16.t())):
        assert sd[k].dtype == np.float32
        np.testing.assert_array_equal(sd[k].numpy(), v.float().numpy(), err_msg=k)
    # the same tensors in a safetensors file (raw little-endian bits, as safetensors stores them)
    header, blobs, off = {}, [], 0
    for name, code, t in (("bf16", "BF16", bf16), ("f16", "F16", f16)):
        raw = t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (tmp_path / "half.safetensors").write_bytes(struct.pack("<Q", len(text)) + text
                                                + b"".join(blobs))
    st = ac.load(tmp_path / "half.safetensors")
    for k, v in (("bf16", bf16), ("f16", f16)):
        assert st[k].dtype == np.float32
        np.testing.assert_array_equal(st[k].numpy(), v.float().numpy(), err_msg=k)


def test_torchs_legacy_format_is_refused(tmp_path):
    path = tmp_path / "legacy.pth"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    assert torch.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0]   # torch reads it
    with pytest.raises(ac.CheckpointError, match="legacy"):
        ac.load_torch(path)


class _Payload:
    """Unpickling this creates a file: what a safe reader must never do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_a_malicious_file_saved_by_torch_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2), "x": _Payload(marker)}, path)
    assert not marker.exists()
    with pytest.raises(Exception):                     # torch's own safe mode refuses it too
        torch.load(path, weights_only=True)
    assert not marker.exists()
    with pytest.raises(ac.CheckpointError, match=r"builtins\.(io\.)?open|refused"):
        ac.load_torch(path)
    assert not marker.exists()
    torch.load(path, weights_only=False).get("x").close()   # the payload is real: it runs
    assert marker.exists()


def test_the_suites_minimal_writer_is_read_by_torch(tmp_path):
    """tests/test_torch_format.py's write_torch_zip (which `make test` uses without torch)
    writes files that torch.load(weights_only=True) reads back to the same tensors."""
    from test_torch_format import write_torch_zip
    rng = np.random.default_rng(11)
    state = {"w": rng.standard_normal((3, 2, 2)).astype(np.float32),
             "t": np.asfortranarray(rng.standard_normal((4, 3))),
             "n": np.array(7, np.int64), "b": np.array([True, False]),
             "h": np.array([0.5, -1.25], np.float16)}
    with open(tmp_path / "w.pth", "wb") as f:
        write_torch_zip(state, f)
    loaded = torch.load(tmp_path / "w.pth", weights_only=True)
    assert list(loaded) == list(state)
    for k, v in state.items():
        assert loaded[k].shape == v.shape and str(loaded[k].dtype) == f"torch.{v.dtype}", k
        np.testing.assert_array_equal(loaded[k].numpy(), v, err_msg=k)
