"""Matrix product kernel: C = op(A) op(B), with op(X) = X or X^T, in float32 or float64.

One kernel serves the forward product and the two backward products of C = A B:

    forward   C  = A B        gemm(a, b, False, False)
    dL/dA   = G B^T           gemm(g, b, False, True)
    dL/dB   = A^T G           gemm(a, g, True, False)

Each element is a dot product, C[i, j] = sum_k A[i, k] B^T[j, k], so the kernel wants A as rows
(M, K) and B as rows of B^T (N, K), both with unit stride along K; an operand that is not
already stored that way is first copied (O(size) work against the product's O(M N K)). Note
that ``linear``'s forward, x W^T with W stored (out, in), needs no copy at all.

Blocking: C is cut into 64 x 64 tiles; products of at least tuning 'numba_gemm_parallel_min'
multiply-adds split the tiles over one thread per core (each tile of C belongs to one thread), smaller ones run in the
calling thread: waking a thread costs 50-100 us here, and inside a training step (threads
asleep) a parallel region made LeNet-5's fc1 product take 325 us instead of 108 us. A tile is
computed in 4 x 4 blocks: 16 running sums held in registers, each loaded element of A and B^T
used four times. The sums are vectorised along K, which needs reassociation: fastmath is
limited to {'reassoc', 'contract'} (reordered sums and fused multiply-adds), so NaN and Inf
still propagate.

Measured here (benchmarks/bench_matmul.py): this kernel comes closest to BLAS on the forward
product of a small linear layer (x W^T, no copy: 65 against OpenBLAS's 53 us for LeNet-5's fc1)
and is 2-3x slower on large products, so ``autograd_cnn/backend.py`` sends every product to
BLAS by default (``NUMBA_WORK``); the kernel is the readable GEMM, kept and tested.
"""

import numpy as np
from numba import njit

from .. import tuning
from . import reference
from .threads import blas_threads, split_batch, workers

TILE = 64                          # C is computed in 64 x 64 tiles
_FASTMATH = {"reassoc", "contract"}


@njit(cache=True)
def _transpose(a):
    """A C-contiguous copy of a.T, copied in 32 x 32 blocks to stay in cache."""
    R, S = a.shape
    t = np.empty((S, R), dtype=a.dtype)
    for j0 in range(0, S, 32):
        j1 = min(S, j0 + 32)
        for i0 in range(0, R, 32):
            i1 = min(R, i0 + 32)
            for j in range(j0, j1):
                for i in range(i0, i1):
                    t[j, i] = a[i, j]
    return t


@njit(cache=True, fastmath=_FASTMATH)
def _block4x4(a, bt, c, i, j):
    """c[i:i+4, j:j+4] = a[i:i+4] . bt[j:j+4]^T, the 16 sums kept in registers."""
    a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]
    b0, b1, b2, b3 = bt[j], bt[j + 1], bt[j + 2], bt[j + 3]
    z = c.dtype.type(0)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = z
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = z
    for k in range(a.shape[1]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        y0, y1, y2, y3 = b0[k], b1[k], b2[k], b3[k]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    c[i, j], c[i, j + 1], c[i, j + 2], c[i, j + 3] = s00, s01, s02, s03
    c[i + 1, j], c[i + 1, j + 1], c[i + 1, j + 2], c[i + 1, j + 3] = s10, s11, s12, s13
    c[i + 2, j], c[i + 2, j + 1], c[i + 2, j + 2], c[i + 2, j + 3] = s20, s21, s22, s23
    c[i + 3, j], c[i + 3, j + 1], c[i + 3, j + 2], c[i + 3, j + 3] = s30, s31, s32, s33


@njit(cache=True, fastmath=_FASTMATH)
def _dot(a, bt, i, j):
    """sum_k a[i, k] bt[j, k], for the ragged edge of a tile."""
    s = a.dtype.type(0)
    ai = a[i]
    bj = bt[j]
    for k in range(a.shape[1]):
        s += ai[k] * bj[k]
    return s


@njit(cache=True, nogil=True)
def _tiles(aa, bt, c, t0, t1):
    """Tiles t0 .. t1-1 of c = aa bt^T, numbered row-major over the grid of TILE x TILE tiles."""
    M, N = c.shape
    tiles_n = (N + TILE - 1) // TILE
    for t in range(t0, t1):
        i0 = (t // tiles_n) * TILE
        j0 = (t % tiles_n) * TILE
        i1 = min(M, i0 + TILE)
        j1 = min(N, j0 + TILE)
        i4 = i0 + (i1 - i0) // 4 * 4             # rows and columns covered by 4 x 4 blocks
        j4 = j0 + (j1 - j0) // 4 * 4
        for i in range(i0, i4, 4):
            for j in range(j0, j4, 4):
                _block4x4(aa, bt, c, i, j)
            for j in range(j4, j1):
                for r in range(i, i + 4):
                    c[r, j] = _dot(aa, bt, r, j)
        for i in range(i4, i1):
            for j in range(j0, j1):
                c[i, j] = _dot(aa, bt, i, j)


@njit(cache=True)
def _operands(a, b, transpose_a, transpose_b):
    aa = _transpose(a) if transpose_a else a        # (M, K): rows of op(A)
    bt = b if transpose_b else _transpose(b)        # (N, K): rows of op(B)^T
    c = np.empty((aa.shape[0], bt.shape[0]), dtype=a.dtype)
    ntiles = ((c.shape[0] + TILE - 1) // TILE) * ((c.shape[1] + TILE - 1) // TILE)
    return aa, bt, c, ntiles


def gemm(a, b, transpose_a, transpose_b):
    """op(a) @ op(b): (M, K) @ (K, N) -> (M, N), where op transposes when its flag is set
    (a is then stored as (K, M), b as (N, K)).  a and b have the same dtype.
    The 64 x 64 tiles of C are split over threads (kernels/threads.py) for products of at least
    tuning 'numba_gemm_parallel_min' multiply-adds; smaller ones run in the calling thread."""
    aa, bt, c, ntiles = _operands(a, b, bool(transpose_a), bool(transpose_b))
    work = aa.shape[0] * aa.shape[1] * bt.shape[0]
    if work < tuning.get("numba_gemm_parallel_min") or workers(ntiles) == 1:
        _tiles(aa, bt, c, 0, ntiles)
    else:
        split_batch(ntiles, lambda t0, t1: _tiles(aa, bt, c, t0, t1))
    return c


def blas_gemm(a, b, transpose_a, transpose_b):
    """op(a) @ op(b) on numpy's BLAS, always on one BLAS thread: products under tuning
    'serial_blas_work' multiply-adds in the calling thread, larger ones split over the conv
    threads (``split_batch``: the rows of the result, or its columns when it has fewer rows
    than columns), each share one single-threaded BLAS call into its block of the result.

    Why not OpenBLAS's own threads: after a call on them they keep spinning for a while, and
    the kernels that follow (split over the same two cores by ``split_batch``) then run at
    half speed: measured (AMD EPYC, 2 threads), ResNet-18's head (8x512x1000) on two BLAS
    threads made the Winograd backward of layer 4 that follows it take 44-45 ms instead of
    21-25 ms, and the three layer-4 backwards of a step 113 ms instead of 64-72 ms."""
    m, k = a.shape[::-1] if transpose_a else a.shape
    n = b.shape[0] if transpose_b else b.shape[1]
    aa, bb = (a.T if transpose_a else a), (b.T if transpose_b else b)
    if m * k * n < tuning.get("serial_blas_work") or workers(max(m, n)) == 1:
        with blas_threads(1):
            return np.matmul(aa, bb)
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n:
        split_batch(m, lambda r0, r1: np.matmul(aa[r0:r1], bb, out=out[r0:r1]))
    else:
        split_batch(n, lambda c0, c1: np.matmul(aa, bb[:, c0:c1], out=out[:, c0:c1]))
    return out


# the numpy twin of both routes (backend.get_kernel runs it when AUTOGRAD_CNN_REFERENCE=1)
TWINS = {"gemm": reference.gemm, "blas_gemm": reference.gemm}
