"""Small networks built from nn, losses and optim, trained to 100% training accuracy on XOR
and on a 2-D spiral (not part of the no-JIT run: hundreds of optimiser steps)."""

import numpy as np

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import optim


def train(model, x, y, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    with ac.no_grad():
        return (model(x).argmax(1)._data == y).mean()


def test_mlp_fits_xor():
    ac.manual_seed(0)
    x = ac.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    assert train(model, x, y, optim.SGD(model.parameters(), lr=0.5, momentum=0.9), 300) == 1.0


def spiral(n_per_class=100, classes=3, seed=0):
    """cs231n's spiral data: ``classes`` interleaved arms, not linearly separable. (The radius
    starts above 0: at r = 0 every arm has the point (0, 0), which no classifier can get right
    for all classes.)"""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n_per_class)
        t = np.linspace(c * 4, (c + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * 0.2
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def test_mlp_fits_a_spiral():
    ac.manual_seed(0)
    x, y = spiral()
    x = ac.tensor(x)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    assert train(model, x, y, opt, 0) < 0.6            # untrained: not separated
    assert F.cross_entropy(model(x), y).item() > 1.0
    steps = 0
    while steps < 2000:
        acc = train(model, x, y, opt, 50)
        steps += 50
        if acc == 1.0:
            break
    assert acc == 1.0, f"training accuracy {acc} after {steps} steps"
