"""Stride-1 convolution with few output channels (LeNet's C3: 6 -> 16 channels, 5x5, 10x10
outputs): a direct kernel that keeps a block of outputs in registers.

    y[n, k, oy, ox] = sum_{c, i, j} w[k, c, i, j] * xp[n, c, oy + i, ox + j]

xp is x zero-padded (shifted._Grid). For each output row, PB consecutive pixels times all K output
channels are accumulated over the C*KH*KW taps in a (PB, KP) block that lives on the stack (an
``alloca``, ``_stack``), where LLVM promotes it to vector registers: per tap, one load of the
weight vector w[c, i, j, :] (output channels innermost, padded to KP, a multiple of 8, with
zeros) and PB broadcast multiply-adds. No im2col matrix is written, and no junk column computed
(the ``shifted`` GEMM's are 40% of its work on 10x10 outputs). The sizes KP, KH, KW, PB are
compile-time constants (one kernel per geometry, made by a factory and memoised), so the loops
over them unroll; they are compiled with LLVM's SLP vectoriser on (``_compile``: Numba leaves it
off by default), which packs the unrolled KP lanes into SIMD FMAs. The block must stay small:
PB*KP above 80 values or PB above 7 measured 30-50x slower (the block is no longer
promoted to registers).

Backward, with the same kernel shapes:

    dx = the full correlation of g (zero-padded by KH-1, KW-1) with the flipped weights
         w'[c, k, i, j] = w[k, c, KH-1-i, KW-1-j]: the forward kernel with C and K swapped,
         then cropped to the image (padding)
    dw[k, c, i, j] = sum_{n, oy, ox} g[n, k, oy, ox] xp[n, c, oy + i, ox + j]: for each (c, i)
         a (KW, KP) block accumulated over the output pixels, g laid out channels-last

The batch is split over threads (kernels/threads.py): each share writes its images' outputs, or
its own dw that the driver sums. Only groups 1, stride 1 and dilation 1 (``applies``).
"""

from __future__ import annotations

import threading

import llvmlite.ir as llvm_ir
import numpy as np
from numba import carray, njit, types
from numba.core import cgutils, config
from numba.extending import intrinsic, overload

from .scratch import buffer
from .shifted import _Grid
from .threads import split_batch

_u = np.uint64       # unsigned indices: no wrap-around checks for negative ones in the hot loops
# The (PB, KP) block of accumulators must stay in registers: PB * KP <= 80 values and PB <= 7
# (measured: LeNet C3's 5 x 16 and its dx's 7 x 8 run at speed; 10 x 16 and 10 x 8 30-50x slower)
_VALUES_PER_BLOCK = 80
_MAX_PIXELS = 7


@intrinsic
def _stack(typingctx, size, dtype):
    """A pointer to ``size`` (a literal int) uninitialised values of ``dtype`` on the stack."""
    if not isinstance(size, types.IntegerLiteral):
        return None
    n, dt = size.literal_value, dtype.dtype

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_data_type(dt),
                                   size=llvm_ir.Constant(llvm_ir.IntType(64), n))
    return types.CPointer(dt)(size, dtype), codegen


def _block(size, dtype):
    """A 1-D array of ``size`` uninitialised values: on the stack in compiled code (where LLVM
    can keep it in registers), from numpy when Numba's JIT is disabled."""
    return np.empty(size, dtype)


@overload(_block, inline="always")    # inlined, so the alloca lands in the calling kernel's frame
def _block_jit(size, dtype):
    if isinstance(size, types.IntegerLiteral):
        n = size.literal_value
        return lambda size, dtype: carray(_stack(n, dtype), (n,))


def applies(kernel_size, stride, dilation, groups) -> bool:
    """True for the geometries this kernel computes: stride 1, dilation 1, one group."""
    return tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1


def _lanes(k: int) -> int:
    """Output channels rounded up to a multiple of 8 (whole SIMD vectors)."""
    return -(-k // 8) * 8


def _make_taps(kp, kh, kw, pb):
    """y[n, k, oy, ox] = sum_{c,i,j} wt[c, i, j, k] xp[n, c, oy+i, ox+j] for k < k_out, images
    n0 .. n1-1, where only the rows r0 <= oy+i < r1 of xp are read (the others must be zero:
    padding).  xf flat (N, C, Hp, Wp), wf flat (C, KH, KW, KP), yf flat (N, k_out, Ho, Wo)."""
    ukp, ukh, ukw, upb = _u(kp), _u(kh), _u(kw), _u(pb)
    nblock = pb * kp

    @njit(cache=True, nogil=True, fastmath={"contract"})
    def taps(xf, wf, n0, n1, c_in, hp, wp, ho, wo, k_out, r0, r1, yf):
        acc = _block(nblock, xf.dtype)
        one = _block(kp, xf.dtype)
        uc, uhp, uwp, uho, uwo, uk = _u(c_in), _u(hp), _u(wp), _u(ho), _u(wo), _u(k_out)
        full = uwo // upb * upb
        for n in range(_u(n0), _u(n1)):
            for oy in range(_u(0), uho):
                yb = n * uk * uho * uwo + oy * uwo
                # the kernel rows i that read the rows r0 <= oy + i < r1 (the others are zero)
                i0 = _u(max(0, r0 - np.int64(oy)))
                i1 = _u(max(min(kh, r1 - np.int64(oy)), 0))
                if i1 < i0:
                    i1 = i0
                for ox0 in range(_u(0), full, upb):
                    for q in range(_u(0), _u(nblock)):
                        acc[q] = 0
                    for c in range(_u(0), uc):
                        for i in range(i0, i1):
                            xb = ((n * uc + c) * uhp + oy + i) * uwp + ox0
                            for j in range(_u(0), ukw):
                                wb = ((c * ukh + i) * ukw + j) * ukp
                                for p in range(_u(0), upb):
                                    xv = xf[xb + p + j]
                                    for k in range(_u(0), ukp):
                                        acc[p * ukp + k] += xv * wf[wb + k]
                    for p in range(_u(0), upb):
                        for k in range(_u(0), uk):
                            yf[yb + k * uho * uwo + ox0 + p] = acc[p * ukp + k]
                for ox in range(full, uwo):           # the row's last Wo % PB pixels
                    for k in range(_u(0), ukp):
                        one[k] = 0
                    for c in range(_u(0), uc):
                        for i in range(i0, i1):
                            xb = ((n * uc + c) * uhp + oy + i) * uwp + ox
                            for j in range(_u(0), ukw):
                                wb = ((c * ukh + i) * ukw + j) * ukp
                                xv = xf[xb + j]
                                for k in range(_u(0), ukp):
                                    one[k] += xv * wf[wb + k]
                    for k in range(_u(0), uk):
                        yf[yb + k * uho * uwo + ox] = one[k]
    return taps


def _make_weight_grad(kp, kh, kw):
    """dwf[c, i, j, k] += sum_{n0 <= n < n1, oy, ox} gt[n, oy, ox, k] xp[n, c, oy+i, ox+j].
    xf flat (N, C, Hp, Wp), gf flat (N, Ho, Wo, KP) (channels last, zero past k_out),
    dwf flat (C, KH, KW, KP)."""
    ukp, ukh, ukw = _u(kp), _u(kh), _u(kw)
    nblock = kw * kp

    @njit(cache=True, nogil=True, fastmath={"contract"})
    def weight_grad(xf, gf, n0, n1, c_in, hp, wp, ho, wo, dwf):
        acc = _block(nblock, xf.dtype)
        uc, uhp, uwp, uho, uwo = _u(c_in), _u(hp), _u(wp), _u(ho), _u(wo)
        for c in range(_u(0), uc):
            for i in range(_u(0), ukh):
                for q in range(_u(0), _u(nblock)):
                    acc[q] = 0
                for n in range(_u(n0), _u(n1)):
                    for oy in range(_u(0), uho):
                        xb = ((n * uc + c) * uhp + oy + i) * uwp
                        gb = (n * uho + oy) * uwo * ukp
                        for ox in range(_u(0), uwo):
                            for j in range(_u(0), ukw):
                                xv = xf[xb + ox + j]
                                for k in range(_u(0), ukp):
                                    acc[j * ukp + k] += xv * gf[gb + ox * ukp + k]
                db = (c * ukh + i) * ukw * ukp
                for q in range(_u(0), _u(nblock)):
                    dwf[db + q] += acc[q]
    return weight_grad


_kernels: dict = {}
_compile_lock = threading.Lock()


def _compile(key, make, dtype, n_args):
    """The kernel ``make(*key)``, compiled for ``dtype`` with LLVM's SLP vectoriser on (memoised;
    Numba's on-disk cache then serves later processes). The vectoriser switch is Numba's global
    configuration, read when a function is compiled: it is set only around this compilation,
    under a lock (another thread compiling at that moment would get vectorised code too, which
    is harmless)."""
    full = (make.__name__, key, np.dtype(dtype).str)
    fn = _kernels.get(full)
    if fn is not None:
        return fn
    with _compile_lock:
        fn = _kernels.get(full)
        if fn is None:
            fn = make(*key)
            empty = np.zeros(1, dtype)
            # a call with no images compiles the kernel (or loads it from the cache)
            args = [empty, empty] + [0] * (n_args - 3) + [empty]
            saved = config.SLP_VECTORIZE
            config.SLP_VECTORIZE = 1
            try:
                fn(*args)
            finally:
                config.SLP_VECTORIZE = saved
            _kernels[full] = fn
    return fn


def _pixels_per_block(kp, wo):
    """PB for rows of Wo pixels: at most _MAX_PIXELS and _VALUES_PER_BLOCK / KP, covering as
    many of the row's pixels with whole blocks as possible (the rest go one at a time, a chain of
    dependent multiply-adds, several times slower per pixel)."""
    cap = max(1, min(_MAX_PIXELS, _VALUES_PER_BLOCK // kp))
    return max(range(1, cap + 1), key=lambda pb: (wo // pb * pb, pb))


def _taps_kernel(kp, kh, kw, wo, dtype):
    return _compile((kp, kh, kw, _pixels_per_block(kp, wo)), _make_taps, dtype, 13)


def _channels_last_weights(w):
    """w (K, C, KH, KW) -> (C, KH, KW, KP), output channels innermost, zero past K."""
    k_out = w.shape[0]
    wt = np.zeros(w.shape[1:] + (_lanes(k_out),), dtype=w.dtype)
    wt[..., :k_out] = w.transpose(1, 2, 3, 0)
    return wt


def _correlate(xp, wt, k_out, out, first, stop, rows=None):
    """out[first:stop] = the correlation of the padded images xp (B, C, Hp, Wp) (images first ..
    stop-1) with wt (C, KH, KW, KP) (see _make_taps); ``rows`` (r0, r1): xp's rows outside
    [r0, r1) are zero and skipped."""
    c_in, kh, kw, kp = wt.shape
    ho, wo = out.shape[2:]
    r0, r1 = rows if rows is not None else (0, xp.shape[2])
    fn = _taps_kernel(kp, kh, kw, wo, xp.dtype)
    fn(np.ascontiguousarray(xp).reshape(-1), wt.reshape(-1), 0, stop - first, c_in,
       xp.shape[2], xp.shape[3], ho, wo, k_out, r0, r1, out[first:stop].reshape(-1))


def forward(x, w, padding, out_size):
    """y = x * w (stride 1).  x (N, C, H, W), w (K, C, KH, KW) -> y (N, K, Ho, Wo)."""
    n_img, c_in = x.shape[:2]
    k_out, _, kh, kw = w.shape
    grid = _Grid(x.shape[2:], (kh, kw), padding, (1, 1), out_size)
    wt = _channels_last_weights(w)
    y = np.empty((n_img, k_out) + tuple(out_size), dtype=x.dtype)

    def work(first, stop):
        xbuf = None if grid.in_place() else \
            buffer("smallconv.x", (stop - first) * c_in * grid.hp * grid.wp, x.dtype)
        _correlate(grid.pad(x, first, stop - first, xbuf), wt, k_out, y, first, stop,
                   (grid.pt, grid.pt + grid.h_in))

    split_batch(n_img, work)
    return y


def backward_input(g, w, in_size, padding):
    """dL/dx (stride 1).  g (N, K, Ho, Wo), w (K, C, KH, KW) -> dx (N, C, H, W)."""
    n_img, k_out, ho, wo = g.shape
    _, c_in, kh, kw = w.shape
    grid = _Grid(in_size, (kh, kw), padding, (1, 1), (ho, wo))
    # the flipped weights with input and output channels swapped: (K, KH, KW, CP)
    wt = _channels_last_weights(np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)))
    dx = np.zeros((n_img, c_in) + tuple(in_size), dtype=g.dtype)
    gh, gw = ho + 2 * (kh - 1), wo + 2 * (kw - 1)
    pt, pl, h_in, w_in = grid.pt, grid.pl, grid.h_in, grid.w_in
    rows = (kh - 1, kh - 1 + ho)           # gp's rows of g: the rest is the zero border

    def work(first, stop):
        b = stop - first
        gp = buffer("smallconv.g", b * k_out * gh * gw, g.dtype).reshape(b, k_out, gh, gw)
        gp.fill(0)
        gp[:, :, kh - 1:kh - 1 + ho, kw - 1:kw - 1 + wo] = g[first:stop]
        if grid.in_place():
            _correlate(gp, wt, c_in, dx, first, stop, rows)
            return
        dxp = buffer("smallconv.dx", b * c_in * grid.hp * grid.wp, g.dtype).reshape(
            b, c_in, grid.hp, grid.wp)
        _correlate(gp, wt, c_in, dxp, 0, b, rows)
        dx[first:stop, :, :h_in, :w_in] = dxp[:, :, pt:pt + h_in, pl:pl + w_in]

    split_batch(n_img, work)
    return dx


def backward_weight(x, g, kernel_size, padding):
    """dL/dw (stride 1).  x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, C, KH, KW)."""
    n_img, c_in = x.shape[:2]
    k_out, ho, wo = g.shape[1:]
    kh, kw = kernel_size
    kp = _lanes(k_out)
    grid = _Grid(x.shape[2:], kernel_size, padding, (1, 1), (ho, wo))
    fn = _compile((kp, kh, kw), _make_weight_grad, x.dtype, 10)

    def work(first, stop):
        b = stop - first
        xbuf = None if grid.in_place() else \
            buffer("smallconv.x", b * c_in * grid.hp * grid.wp, x.dtype)
        xp = np.ascontiguousarray(grid.pad(x, first, b, xbuf))
        gt = buffer("smallconv.gt", b * ho * wo * kp, x.dtype).reshape(b, ho, wo, kp)
        gt[..., k_out:] = 0
        gt[..., :k_out] = g[first:stop].transpose(0, 2, 3, 1)
        dwt = np.zeros((c_in, kh, kw, kp), dtype=x.dtype)
        fn(xp.reshape(-1), gt.reshape(-1), 0, b, c_in, grid.hp, grid.wp, ho, wo,
           dwt.reshape(-1))
        return dwt

    shares = split_batch(n_img, work)
    dwt = sum(shares[1:], shares[0])
    return np.ascontiguousarray(dwt[..., :k_out].transpose(3, 0, 1, 2))
