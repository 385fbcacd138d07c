"""Elementwise kernels of a training step: ReLU and its backward, the residual add + ReLU, the
tanh backward; one pass over C-contiguous arrays (float32 or float64), new arrays out. Also the
convolutions' epilogue (``bias_relu_images``: bias + ReLU in place on a range of images, called
by kernels/conv.py, winograd.py and im2col.py inside their threads' shares).

numpy runs each of these as one or more passes on one thread, with a temporary per operator:
ReLU's backward ``g * (y > 0)`` makes a bool mask, then a product; ``relu(a + b)`` writes the
sum, then the result, and keeps the sum alive for the backward. Here each element is read and
written once, and fused chains (``add_relu``) keep nothing but their output.

Every kernel is a Numba loop over a range of blocks of ``_BLOCK`` elements (``nogil``, not
``parallel=True``): ``_run`` calls it in the calling thread for small jobs and otherwise splits
the blocks over ``threads.split_batch``'s threads, the pool the convolutions and pooling already
use. A Numba ``prange`` region would be a second pool whose idle threads spin against the first
(kernels/threads.py says what that cost), and it starts slower (~150 us, against 50-100 us to
wake a pooled thread). The cut-off is tuning 'elementwise_parallel_min' (elements touched:
inputs + output).

Semantics, PyTorch's (``threshold_backward``): relu(NaN) = NaN; relu's backward gives 0 where
the output is <= 0 and passes g elsewhere (NaN outputs included); a ``where``, so an inf or NaN
gradient at a clipped position gives 0, not NaN. The mask is taken from the output: y <= 0
exactly where x <= 0.

Each kernel's numpy twin sits beside it (``TWINS``), for tests and AUTOGRAD_CNN_REFERENCE=1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import tuning
from .threads import split_batch, workers

_BLOCK = 1 << 15          # elements per block: a share of a split job is whole blocks


def _run(kernel, size: int, touched: int, *args) -> None:
    """kernel(*args, b0, b1) over the blocks [b0, b1) of 0 .. ceil(size / _BLOCK) - 1: in the
    calling thread below tuning 'elementwise_parallel_min' elements touched, else split over
    the shared threads (each share owns its blocks' outputs)."""
    blocks = (size + _BLOCK - 1) // _BLOCK
    if touched < tuning.get("elementwise_parallel_min") or workers(blocks) == 1:
        kernel(*args, 0, blocks)
    else:
        split_batch(blocks, lambda b0, b1: kernel(*args, b0, b1))


# ---- ReLU ---------------------------------------------------------------------------------------


def relu(x):
    """y = max(x, 0), NaN kept. Any shape -> the same."""
    y = np.empty_like(x)
    _run(_relu, x.size, 2 * x.size, x.reshape(-1), y.reshape(-1))
    return y


@njit(cache=True, nogil=True)
def _relu(x, y, b0, b1):
    # slices, not x[lo + i]: a signed offset in the loop blocks vectorisation (measured 3x)
    lo, hi = b0 * _BLOCK, min(x.size, b1 * _BLOCK)
    xs, ys = x[lo:hi], y[lo:hi]
    z = x.dtype.type(0)
    for i in range(xs.size):
        v = xs[i]
        ys[i] = z if v <= z else v          # not max(): NaN <= 0 is False, so NaN stays


def relu_twin(x):
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def relu_backward(g, y):
    """dx = 0 where y <= 0, else g (y = relu's output). g, y of one shape -> that shape."""
    dx = np.empty_like(g)
    _run(_relu_backward, g.size, 3 * g.size, g.reshape(-1), y.reshape(-1), dx.reshape(-1))
    return dx


@njit(cache=True, nogil=True)
def _relu_backward(g, y, dx, b0, b1):
    lo, hi = b0 * _BLOCK, min(g.size, b1 * _BLOCK)
    gs, ys, out = g[lo:hi], y[lo:hi], dx[lo:hi]
    z = g.dtype.type(0)
    zy = y.dtype.type(0)
    for i in range(gs.size):
        out[i] = z if ys[i] <= zy else gs[i]


def relu_backward_twin(g, y):
    return np.where(y <= 0, np.zeros((), g.dtype), g)


# ---- the residual add + ReLU (ResNet's out = relu(out + identity)) ----------------------


def add_relu(a, b):
    """y = max(a + b, 0), NaN kept; a, b of one shape and dtype -> that shape."""
    y = np.empty_like(a)
    _run(_add_relu, a.size, 3 * a.size, a.reshape(-1), b.reshape(-1), y.reshape(-1))
    return y


@njit(cache=True, nogil=True)
def _add_relu(a, b, y, b0, b1):
    lo, hi = b0 * _BLOCK, min(a.size, b1 * _BLOCK)
    as_, bs, ys = a[lo:hi], b[lo:hi], y[lo:hi]
    z = a.dtype.type(0)
    for i in range(as_.size):
        v = as_[i] + bs[i]
        ys[i] = z if v <= z else v


def add_relu_twin(a, b):
    return np.maximum(a + b, 0).astype(a.dtype, copy=False)


# ---- a convolution's epilogue: its bias and its ReLU (F.conv2d_relu) ----------------------------


@njit(cache=True, nogil=True)
def bias_relu_images(y, bias, has_bias, relu, n0, n1):
    """In place on the images [n0, n1) of y (N, K, P): y[n, k] += bias[k] if has_bias, then
    y = max(y, 0) (NaN kept) if relu. The same arithmetic, in the same order, as numpy's
    ``y += bias[:, None]`` followed by ``relu``: bit for bit. The convolutions run it on each
    chunk of images right after writing it, inside their threads' shares, while it is in cache
    (kernels/winograd.py, im2col.py), or once over the output (the others)."""
    z = y.dtype.type(0)
    for n in range(n0, n1):
        for k in range(y.shape[1]):
            row = y[n, k]
            if has_bias:
                b = y.dtype.type(bias[k])
                if relu:
                    for i in range(row.size):
                        v = row[i] + b
                        row[i] = z if v <= z else v
                else:
                    for i in range(row.size):
                        row[i] = row[i] + b
            elif relu:
                for i in range(row.size):
                    v = row[i]
                    row[i] = z if v <= z else v


def bias_relu_images_twin(y, bias, has_bias, relu, n0, n1):
    part = y[n0:n1]
    if has_bias:
        part += bias.astype(y.dtype).reshape(1, -1, 1)
    if relu:
        part[...] = np.where(part <= 0, np.zeros((), y.dtype), part)


# ---- tanh's backward (LeNet-5's activation) ------------------------------------------------------


def tanh_backward(g, t):
    """dx = g (1 - t^2), t = tanh's output. g, t of one shape -> that shape."""
    dx = np.empty_like(g)
    _run(_tanh_backward, g.size, 3 * g.size, g.reshape(-1), t.reshape(-1), dx.reshape(-1))
    return dx


@njit(cache=True, nogil=True)
def _tanh_backward(g, t, dx, b0, b1):
    lo, hi = b0 * _BLOCK, min(g.size, b1 * _BLOCK)
    gs, ts, out = g[lo:hi], t[lo:hi], dx[lo:hi]
    one = t.dtype.type(1)
    for i in range(gs.size):
        out[i] = gs[i] * (one - ts[i] * ts[i])


def tanh_backward_twin(g, t):
    return g * (1 - t * t)


TWINS = {"relu": relu_twin, "relu_backward": relu_backward_twin, "add_relu": add_relu_twin,
         "tanh_backward": tanh_backward_twin, "bias_relu_images": bias_relu_images_twin}
