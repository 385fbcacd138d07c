"""Fused optimiser updates: one pass over a parameter, its gradient and its state, in place.

Written as numpy expressions, an Adam step makes about fifteen passes over arrays the size of
the model (and allocates a temporary for each): 4-5x PyTorch's time on a ResNet-18-sized
parameter set. Here each element is read and written once. The arrays are 1-D views of
C-contiguous parameters (the caller flattens them). Hyperparameters arrive as float64 and are
cast to the parameter's dtype, so float32 parameters are updated in float32 arithmetic, as
PyTorch does.

SGD's update is a few multiply-adds per element, memory-bound: a ``prange`` version measured
slower at every size (2.4 M elements: 1.0 ms serial, 2.8 ms on two threads; 103 M: 72 vs
112 ms), so ``sgd_step`` splits big parameters (tuning 'sgd_parallel_min') over
``threads.split_batch``'s already running threads instead, and loops in the calling thread below
that. Adam's square root and division make it compute-bound enough to
gain from two threads from about a million elements (1 M: 2.6 -> 1.6 ms; 25 M: 59 -> 35 ms), so
it comes twice: ``adam_step_parallel`` splits the elements into blocks with ``prange`` (each
iteration owns its block), ``adam_step`` loops; both call the same helper on a range.

Twins (the same steps as numpy expressions) in ``kernels/reference.py``; the formulas are in
``autograd_cnn/optim/sgd.py`` and ``adaptive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import tuning
from . import reference
from .threads import split_batch, workers

_BLOCK = 1 << 16


@njit(cache=True)
def _sgd_range(p, g, buf, lo, hi, lr, momentum, dampening, weight_decay, nesterov, maximize,
               first):
    t = p.dtype.type
    lr_, mu, keep, wd = t(lr), t(momentum), t(1.0 - dampening), t(weight_decay)
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0.0:
            d += wd * p[i]
        if momentum != 0.0:
            b = d if first else mu * buf[i] + keep * d
            buf[i] = b
            d = d + mu * b if nesterov else b
        p[i] -= lr_ * d


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """SGD in place on p (and the momentum buffer buf, unused when momentum == 0):
    d = g (+ wd p);  b = d at the first step, else mu b + (1 - tau) d;  d = d + mu b (nesterov)
    or b;  p -= lr d.  From tuning 'sgd_parallel_min' elements the blocks of _BLOCK elements
    are split over threads.split_batch's threads (each share owns its blocks)."""
    if p.size < tuning.get("sgd_parallel_min") or workers(2) == 1:
        _sgd_blocks(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first,
                    0, (p.size + _BLOCK - 1) // _BLOCK)
    else:
        split_batch((p.size + _BLOCK - 1) // _BLOCK, lambda b0, b1: _sgd_blocks(
            p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first, b0, b1))


@njit(cache=True, nogil=True)
def _sgd_blocks(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first,
                b0, b1):
    # slices and a literal 0 start, not a runtime offset into the whole arrays: with one the
    # loop ran 6x slower (48 K elements: 640 against 100 us; signed-index checks, no SIMD)
    lo, hi = b0 * _BLOCK, min(p.size, b1 * _BLOCK)
    _sgd_range(p[lo:hi], g[lo:hi], buf[lo:hi], 0, hi - lo, lr, momentum, dampening,
               weight_decay, nesterov, maximize, first)


@njit(cache=True)
def _adam_range(p, g, m, v, vmax, lo, hi, lr, beta1, beta2, eps, weight_decay, decoupled,
                amsgrad, maximize, step):
    t = p.dtype.type
    b1, b2, one_b1, one_b2 = t(beta1), t(beta2), t(1.0 - beta1), t(1.0 - beta2)
    # m / (sqrt(v) / c2 + eps) = c2 m / (sqrt(v) + c2 eps) with c2 = sqrt(1 - b2^t): one
    # division per element instead of two (divisions dominate this loop: 10 -> 4 ms per 2.4 M)
    c2 = np.sqrt(1.0 - beta2 ** step)
    step_size = t(lr / (1.0 - beta1 ** step) * c2)
    eps_, wd, shrink = t(eps * c2), t(weight_decay), t(1.0 - lr * weight_decay)
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0.0:
            if decoupled:
                p[i] *= shrink
            else:
                d += wd * p[i]
        mi = b1 * m[i] + one_b1 * d
        vi = b2 * v[i] + one_b2 * d * d
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(vmax[i], vi)
            vmax[i] = vi
        p[i] -= step_size * mi / (np.sqrt(vi) + eps_)


@njit(cache=True)
def adam_step(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
              maximize, step):
    """Adam/AdamW in place on p, m, v (and vmax, unused unless amsgrad):
    AdamW: p *= 1 - lr wd;  Adam: d = g + wd p;  m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;
    p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    _adam_range(p, g, m, v, vmax, 0, p.size, lr, beta1, beta2, eps, weight_decay, decoupled,
                amsgrad, maximize, step)


@njit(parallel=True, cache=True)
def adam_step_parallel(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled,
                       amsgrad, maximize, step):
    blocks = (p.size + _BLOCK - 1) // _BLOCK
    for k in prange(blocks):
        _adam_range(p, g, m, v, vmax, k * _BLOCK, min(p.size, (k + 1) * _BLOCK), lr, beta1,
                    beta2, eps, weight_decay, decoupled, amsgrad, maximize, step)


# the numpy twins (backend.get_kernel runs them when AUTOGRAD_CNN_REFERENCE=1)
TWINS = {"sgd_step": reference.sgd_step, "adam_step": reference.adam_step,
         "adam_step_parallel": reference.adam_step}
