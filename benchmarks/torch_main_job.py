"""The main job (`make demo` = `autograd-cnn train`) written in PyTorch the fastest way a PyTorch
user has here, to time against ours (issue 16: our training time <= 1.0x this).

The same training as cli.py's ``cmd_train`` with its defaults: the bundled digits at 32x32 with
the fixed 70/15/15 split (the very arrays, exported by this library), textbook LeNet-5 (tanh,
average pooling, PyTorch's default initialisation), SGD lr 0.05 momentum 0.9 Nesterov weight
decay 5e-4, cosine schedule over 30 epochs stepped per epoch, batch 32 reshuffled every epoch
(last batch smaller), cross-entropy; every epoch evaluates the validation set (batch 256), and
the test set is scored with the best validation epoch's weights.

Augmentation: the demo's RandomAffine (rotation U(-8, 8) degrees, shift U(-0.08, 0.08) of the
size, scale U(0.92, 1.08), x-shear U(-6, 6) degrees, one draw per image, bilinear, zeros
outside) on the whole batch with torch ops, F.affine_grid + F.grid_sample (torchvision is not
installable here beside torch 2.13, and per-image torchvision calls would be slower anyway).
The data sit in memory as tensors, indexed by a random permutation (no DataLoader overhead).

Timed like ours: the epoch's seconds (training + validation) summed over the epochs, as
summary.json's train_seconds; the training steps alone beside it.

    .venv/bin/python benchmarks/torch_main_job.py --export /tmp/digits.npz   # our arrays
    .venv/bin/python benchmarks/torch_main_job.py --data /tmp/digits.npz [--epochs 30]

Prints one JSON line: train_seconds, step_seconds, augment_seconds, test_accuracy, threads, and
warp_max_diff_vs_ours (this warp against the library's on the same images and parameters).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def export(path: str) -> None:
    """Write the demo's train/val/test arrays (cli._splits for --data digits) to ``path``."""
    from autograd_cnn.cli import MODELS, _splits
    train, val, test, _ = _splits("digits", None, MODELS["lenet5"].image_size, 0)
    arrays = {}
    for name, ds in (("train", train), ("val", val), ("test", test)):
        x, y = ds.get_batch(np.arange(len(ds)))
        arrays[f"x_{name}"], arrays[f"y_{name}"] = np.asarray(x), np.asarray(y)
    # a parity sample for the torch warp: 16 images, their parameters and our batched warp
    from autograd_cnn.cli import _augmentation
    aug = _augmentation(argparse.Namespace(augment=True))
    x = arrays["x_train"][:16]
    params = aug.sample_params(16, x.shape[2], x.shape[3], np.random.default_rng(1))
    arrays["check_x"] = x
    arrays["check_params"] = np.stack([params[k] for k in ("angle", "tx", "ty", "scale",
                                                           "shear_x")])
    arrays["check_out"] = aug(x, rng=np.random.default_rng(1))
    np.savez(path, **arrays)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--export", help="write the demo's arrays here (run with this library)")
    p.add_argument("--data", help="the arrays written by --export")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.export:
        export(args.export)
        return {}
    if not args.data:
        p.error("--data FILE.npz is needed (write it with --export under this library's Python)")

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d = np.load(args.data)
    x_train, y_train = torch.from_numpy(d["x_train"]), torch.from_numpy(d["y_train"]).long()
    x_val, y_val = torch.from_numpy(d["x_val"]), torch.from_numpy(d["y_val"]).long()
    x_test, y_test = torch.from_numpy(d["x_test"]), torch.from_numpy(d["y_test"]).long()

    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    h, w = x_train.shape[-2:]

    def augment(x):
        """One random affine per image (the demo's parameters), the whole batch in two calls."""
        n = x.shape[0]
        return warp(x, torch.empty(n).uniform_(-8, 8), torch.empty(n).uniform_(-0.08 * w, 0.08 * w),
                    torch.empty(n).uniform_(-0.08 * h, 0.08 * h),
                    torch.empty(n).uniform_(0.92, 1.08), torch.empty(n).uniform_(-6, 6))

    def warp(x, degrees, tx, ty, s, shear_x):
        angle = torch.deg2rad(degrees)
        shx = torch.tan(torch.deg2rad(shear_x))
        cos, sin = torch.cos(angle), torch.sin(angle)
        # forward map in pixels about the centre (image_ops.affine_matrix): R @ Sh * s
        fwd = torch.stack([torch.stack([cos, cos * shx + sin], 1),
                           torch.stack([-sin, -sin * shx + cos], 1)], 1) * s[:, None, None]
        inv = torch.linalg.inv(fwd)                                    # (n, 2, 2)
        t = torch.stack([tx, ty], 1)
        # affine_grid maps output -> input in [-1, 1] coordinates; with align_corners=True the
        # pixel centres (0, W-1) sit at -1, 1, so the pixel map about the centre carries over
        # with the shift scaled by 2 / (size - 1)
        shift = -(inv @ t[:, :, None])[:, :, 0] * torch.tensor([2 / (w - 1), 2 / (h - 1)])
        scale_xy = torch.tensor([[1.0, (h - 1) / (w - 1)], [(w - 1) / (h - 1), 1.0]])
        theta = torch.cat([inv * scale_xy, shift[:, :, None]], 2)      # (n, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    def accuracy(x, y):
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(y), 256):
                correct += int((model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum())
        return correct / len(y)

    # the torch warp against ours on the exported sample (same parameters)
    check = warp(torch.from_numpy(d["check_x"]),
                 *torch.from_numpy(d["check_params"]).float())
    warp_diff = float((check - torch.from_numpy(d["check_out"])).abs().max())

    train_seconds = step_seconds = augment_seconds = 0.0
    best, best_state = -1.0, None
    g = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(y_train), generator=g)
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            xb, yb = x_train[idx], y_train[idx]
            if args.augment:
                ta = time.perf_counter()
                xb = augment(xb)
                augment_seconds += time.perf_counter() - ta
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.item()                      # as our Trainer: the loss is read every step
            loss.backward()
            opt.step()
        step_seconds += time.perf_counter() - t0
        val = accuracy(x_val, y_val)
        sched.step()
        train_seconds += time.perf_counter() - t0
        if val > best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    out = {"train_seconds": round(train_seconds, 3), "step_seconds": round(step_seconds, 3),
           "augment_seconds": round(augment_seconds, 3),
           "test_accuracy": round(accuracy(x_test, y_test), 4),
           "threads": torch.get_num_threads(), "epochs": args.epochs, "augment": args.augment,
           "warp_max_diff_vs_ours": warp_diff}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
