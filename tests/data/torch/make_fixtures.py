"""Writes the committed .pth fixtures with PyTorch (run once by hand, never by the suite):

    /opt/torchenv/bin/python tests/data/torch/make_fixtures.py

Values are arange-based, so tests/test_torch_format.py states the expected arrays as formulas.
"""

from collections import OrderedDict
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def tiny_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(2, 3))
    with torch.no_grad():
        for i, t in enumerate(net.state_dict().values()):
            if t.dtype.is_floating_point:
                t.copy_(torch.arange(t.numel(), dtype=t.dtype).reshape(t.shape) / 10 + i)
    net.state_dict()["1.num_batches_tracked"].fill_(7)
    return net


def main():
    torch.save(tiny_net().state_dict(), HERE / "tiny_state.pth")
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save(OrderedDict([
        ("transposed", base.t()),                      # a non-contiguous view
        ("column", base[:, 1]),                        # offset + stride into the same storage
        ("bf16", torch.tensor([1.5, -2.0, 3.140625], dtype=torch.bfloat16)),
        ("f16", torch.tensor([0.5, -0.25], dtype=torch.float16)),
        ("f64", torch.tensor([[1.0, 2.0]], dtype=torch.float64)),
        ("i32", torch.tensor([-3, 4], dtype=torch.int32)),
        ("u8", torch.tensor([255, 1], dtype=torch.uint8)),
        ("flag", torch.tensor([True, False])),
        ("scalar", torch.tensor(5)),
        ("empty", torch.zeros(0, 3)),
    ]), HERE / "dtypes_views.pth")
    torch.save({"epoch": 3, "lr": 0.1, "names": ["a", "b"], "pair": (1, None), "ok": True,
                "weight": torch.nn.Parameter(torch.ones(2)),
                "state_dict": {"w": torch.arange(3, dtype=torch.float32)}},
               HERE / "nested.pth")
    torch.save({"w": torch.ones(2)}, HERE / "legacy.pth", _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
