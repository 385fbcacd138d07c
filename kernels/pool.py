"""Pooling kernels: max, average, adaptive average/max, max unpooling; forward and backward.

Plain functions over C-contiguous (N, C, H, W) arrays (float32 or float64) and ints; each returns
new arrays. They trust their arguments: ``autograd_cnn/backend.py`` validates shapes, dtypes and
sizes (and computes the output size) before calling them.

Each public kernel is a plain Python function that allocates its results with numpy and hands
them to a Numba loop (``_name``) that fills them: numpy asks the kernel for transparent huge
pages on large arrays, and first-touching a fresh 103 MB result measured 8 ms that way against
27 ms for an array allocated inside Numba (4 KiB page faults), more than most of these loops.

Every kernel loops over a range [p0, p1) of the N*C planes, and ``threads.over_planes`` splits
big jobs over one thread per core (small ones run in the calling thread: a thread's wake-up costs
more than pooling LeNet's activations). A plane's output slice belongs to one share, so the
backward kernels can scatter-add into their own plane without races.

Conventions (PyTorch's):
- window of output (oh, ow) starts at (oh*sh - ph, ow*sw - pw); tap (i, j) reads input row
  oh*sh - ph + i*dh, column ow*sw - pw + j*dw; taps in the padding are skipped (max) or count
  as zeros (average with count_include_pad);
- max pooling's switches (``indices``) are flat positions h*W + w in the input plane, the first
  maximum in row-major window order; a NaN in the window wins (NaN propagates);
- adaptive windows: rows floor(o*H/Ho) .. ceil((o+1)*H/Ho) - 1, likewise for columns.
"""

import numpy as np
from numba import njit

from . import reference
from .threads import over_planes


# ---- max pooling --------------------------------------------------------------------------------


@njit(cache=True)
def _taps(out_size, stride, pad, dilation, kernel, size):
    """Per output row (or column) o: the window start o*stride - pad and the range [t0, t1) of
    taps that fall inside the input (the others lie in the padding)."""
    start = np.empty(out_size, dtype=np.int64)
    t0 = np.empty(out_size, dtype=np.int64)
    t1 = np.empty(out_size, dtype=np.int64)
    for o in range(out_size):
        s = o * stride - pad
        start[o] = s
        t0[o] = 0 if s >= 0 else (-s + dilation - 1) // dilation
        t1[o] = min(kernel, (size - s + dilation - 1) // dilation)
    return start, t0, t1


def max_pool2d_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo, with_indices):
    """out[n, c, oh, ow] = max over the window's taps; (N, C, H, W) -> (N, C, Ho, Wo).

    Returns (out, indices); ``indices`` (int64, flat h*W + w) has shape (N, C, Ho, Wo) when
    ``with_indices`` else (0, 0, 0, 0) (inference needs no switches: less memory traffic).
    Every window must hold at least one input element (the caller checks).
    """
    N, C = x.shape[:2]
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.empty((N, C, Ho, Wo) if with_indices else (0, 0, 0, 0), dtype=np.int64)
    # compares and selects cost about twice an average's adds: count the input twice, and
    # each tap (of the dense form's second pass)
    if dh == 1 and dw == 1:
        over_planes(_max_pool2d_forward_dense, N * C, 2 * x.size + out.size * kw, x, kh, kw, sh,
                    sw, ph, pw, bool(with_indices), out, idx)
    else:
        over_planes(_max_pool2d_forward, N * C, 2 * x.size + out.size * kh * kw, x, kh, kw, sh,
                    sw, ph, pw, dh, dw, bool(with_indices), out, idx)
    return out, idx


@njit(cache=True, nogil=True)
def _max_pool2d_forward_dense(x, kh, kw, sh, sw, ph, pw, with_indices, out, idx, p0, p1):
    """Dilation 1: the windows of one output row cover the same input rows, so take the
    maximum down each column of those rows once (a vectorised pass), then across each window's
    columns: 2.5-3x faster than tap by tap (measured, one thread). Same result and switches as
    the tap-by-tap loop: the first maximum in row-major window order, the last NaN (row-major
    order is flat-index order, which breaks the ties across columns)."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    ip = idx.reshape(P, Ho, Wo) if with_indices else idx.reshape(0, 0, 0)
    best = np.empty(W, dtype=x.dtype)          # per column: max over the window rows
    arg = np.empty(W, dtype=np.int64)          # and its flat position h*W + w
    for p in range(p0, p1):
        plane = xp[p]
        for oh in range(Ho):
            h0 = max(oh * sh - ph, 0)
            h1 = min(oh * sh - ph + kh, H)
            row = plane[h0]
            for w in range(W):
                best[w] = row[w]
                arg[w] = h0 * W + w
            for h in range(h0 + 1, h1):        # down a column the flat index grows
                row = plane[h]
                for w in range(W):
                    v = row[w]
                    take = (v > best[w]) | (v != v)
                    best[w] = v if take else best[w]
                    arg[w] = h * W + w if take else arg[w]
            orow = op[p, oh]
            for ow in range(Wo):
                w0 = max(ow * sw - pw, 0)
                w1 = min(ow * sw - pw + kw, W)
                b = best[w0]
                a = arg[w0]
                for w in range(w0 + 1, w1):
                    v = best[w]
                    aw = arg[w]
                    v_nan = v != v
                    b_nan = b != b
                    # across columns the flat order is not the column order: compare it
                    take = (v_nan & (~b_nan | (aw > a))) | (
                        ~v_nan & ~b_nan & ((v > b) | ((v == b) & (aw < a))))
                    b = v if take else b
                    a = aw if take else a
                orow[ow] = b
                if with_indices:
                    ip[p, oh, ow] = a


@njit(cache=True, nogil=True)
def _max_pool2d_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, with_indices, out, idx,
                        p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    ip = idx.reshape(P, Ho, Wo) if with_indices else idx.reshape(0, 0, 0)
    hs, i0, i1 = _taps(Ho, sh, ph, dh, kh, H)
    ws, j0, j1 = _taps(Wo, sw, pw, dw, kw, W)
    for p in range(p0, p1):
        plane = xp[p]
        for oh in range(Ho):
            orow = op[p, oh]
            for ow in range(Wo):
                # start from the first tap inside the input (same result as PyTorch's -inf start)
                h = hs[oh] + i0[oh] * dh
                w = ws[ow] + j0[ow] * dw
                best = plane[h, w]
                where = h * W + w
                for i in range(i0[oh], i1[oh]):
                    h = hs[oh] + i * dh
                    row = plane[h]
                    for j in range(j0[ow], j1[ow]):
                        w = ws[ow] + j * dw
                        v = row[w]
                        # branch-free selects: a data-dependent branch mispredicts on half the
                        # taps (measured 2.5x slower); v != v lets a NaN win, as in PyTorch
                        take = (v > best) | (v != v)
                        best = v if take else best
                        where = h * W + w if take else where
                orow[ow] = best
                if with_indices:
                    ip[p, oh, ow] = where


def max_pool2d_backward(g, indices, H, W):
    """dL/dx: each output's gradient goes to the input element its switch points at
    (added up where windows overlap).  (N, C, Ho, Wo) -> (N, C, H, W)."""
    gx = np.empty(g.shape[:2] + (H, W), dtype=g.dtype)
    # a zero fill and one scatter per output: cheap, so it counts as g's size only
    over_planes(_max_pool2d_backward, g.shape[0] * g.shape[1], g.size, g, indices, gx)
    return gx


@njit(cache=True, nogil=True)
def _max_pool2d_backward(g, indices, gx, p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    P = N * C
    gp = g.reshape(P, Ho * Wo)
    ip = indices.reshape(P, Ho * Wo)
    gxp = gx.reshape(P, H * W)
    for p in range(p0, p1):
        dst = gxp[p]
        dst[:] = 0                      # zero-filled per plane, by the thread that owns it
        src = gp[p]
        sw = ip[p]
        for k in range(Ho * Wo):
            dst[sw[k]] += src[k]


# ---- average pooling ----------------------------------------------------------------------------


@njit(cache=True)
def _avg_windows(Ho, Wo, kh, kw, sh, sw, ph, pw, H, W, count_include_pad, divisor_override,
                 dtype):
    """The clipped row ranges [h0, h1) per output row, column ranges [w0, w1) per output column,
    and 1 / divisor of each window (Ho, Wo), in ``dtype``: the divisor is ``divisor_override``
    when non-zero, else the window clipped to the padded input (count_include_pad) or the number
    of real elements in it. The kernels multiply by the reciprocal (within an ulp of dividing):
    the divisions were half of average pooling's time."""
    h0 = np.empty(Ho, dtype=np.int64)
    h1 = np.empty(Ho, dtype=np.int64)
    hpad = np.empty(Ho, dtype=np.int64)          # window height inside the padded input
    for o in range(Ho):
        s = o * sh - ph
        e = min(s + kh, H + ph)
        hpad[o] = e - s
        h0[o] = max(s, 0)
        h1[o] = min(e, H)
    w0 = np.empty(Wo, dtype=np.int64)
    w1 = np.empty(Wo, dtype=np.int64)
    wpad = np.empty(Wo, dtype=np.int64)
    for o in range(Wo):
        s = o * sw - pw
        e = min(s + kw, W + pw)
        wpad[o] = e - s
        w0[o] = max(s, 0)
        w1[o] = min(e, W)
    div = np.empty((Ho, Wo), dtype=np.int64)
    for oh in range(Ho):
        for ow in range(Wo):
            if divisor_override != 0:
                div[oh, ow] = divisor_override
            elif count_include_pad:
                div[oh, ow] = hpad[oh] * wpad[ow]
            else:
                div[oh, ow] = (h1[oh] - h0[oh]) * (w1[ow] - w0[ow])
    return h0, h1, w0, w1, (1.0 / div).astype(dtype)


def avg_pool2d_forward(x, kh, kw, sh, sw, ph, pw, Ho, Wo, count_include_pad, divisor_override):
    """out = (sum of the window's input elements) / divisor; (N, C, H, W) -> (N, C, Ho, Wo).
    The divisor is described in ``_avg_windows``; padding contributes zeros to the sum."""
    out = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    if _tiled_2x2(kh, kw, sh, sw, ph, pw) and 2 * Ho <= x.shape[2] and 2 * Wo <= x.shape[3]:
        over_planes(_avg_pool2x2_forward, x.shape[0] * x.shape[1], x.size + out.size,
                    x, _scale(divisor_override, x.dtype), out)
        return out
    over_planes(_avg_pool2d_forward, x.shape[0] * x.shape[1], x.size + out.size,
                x, kh, kw, sh, sw, ph, pw, bool(count_include_pad), divisor_override, out)
    return out


def _tiled_2x2(kh, kw, sh, sw, ph, pw) -> bool:
    """2x2 windows, stride 2, no padding (LeNet's and most networks' average pooling). With
    2 Ho <= H and 2 Wo <= W, checked beside each use (ceil mode's clipped last window fails
    it), every window is whole (an odd last row or column is in none), so the divisor is 4 or
    the override."""
    return kh == kw == sh == sw == 2 and ph == pw == 0


def _scale(divisor_override, dtype):
    return np.asarray(1.0 / (divisor_override or 4), dtype=dtype)[()]


@njit(cache=True, nogil=True)
def _avg_pool2x2_forward(x, scale, out, p0, p1):
    """The 2x2 / stride 2 form of ``_avg_pool2d_forward``, the same sums in the same order
    ((top + bottom) of the left column, plus that of the right), so the same bits: written out,
    without the general loop's per-row bookkeeping, 4-5x faster on LeNet's 28x28 and 10x10
    planes (one thread, measured)."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    xp = x.reshape(N * C, H, W)
    op = out.reshape(N * C, Ho, Wo)
    for p in range(p0, p1):
        for oh in range(Ho):
            top = xp[p, 2 * oh]
            bottom = xp[p, 2 * oh + 1]
            orow = op[p, oh]
            for ow in range(Wo):
                a = 2 * ow
                orow[ow] = ((top[a] + bottom[a]) + (top[a + 1] + bottom[a + 1])) * scale


@njit(cache=True, nogil=True)
def _avg_pool2d_forward(x, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, out,
                        p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    h0, h1, w0, w1, inv = _avg_windows(Ho, Wo, kh, kw, sh, sw, ph, pw, H, W,
                                       count_include_pad, divisor_override, x.dtype)
    column_sums = np.empty(W, dtype=x.dtype)    # one per call: an allocation per plane cost
    for p in range(p0, p1):                     # as much as pooling a LeNet plane
        plane = xp[p]
        for oh in range(Ho):
            # the windows of one output row cover the same input rows: add those rows once
            # (vectorised), then each window sums its columns of that one row
            column_sums[:] = 0
            for h in range(h0[oh], h1[oh]):
                row = plane[h]
                for w in range(W):
                    column_sums[w] += row[w]
            orow = op[p, oh]
            for ow in range(Wo):
                s = x.dtype.type(0)
                for w in range(w0[ow], w1[ow]):
                    s += column_sums[w]
                orow[ow] = s * inv[oh, ow]


def avg_pool2d_backward(g, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override):
    """dL/dx[h, w] = sum over the windows containing (h, w) of g / divisor.
    (N, C, Ho, Wo) -> (N, C, H, W)."""
    gx = np.empty(g.shape[:2] + (H, W), dtype=g.dtype)
    if _tiled_2x2(kh, kw, sh, sw, ph, pw) and 2 * g.shape[2] <= H and 2 * g.shape[3] <= W:
        over_planes(_avg_pool2x2_backward, g.shape[0] * g.shape[1], g.size + gx.size,
                    g, _scale(divisor_override, g.dtype), gx)
        return gx
    over_planes(_avg_pool2d_backward, g.shape[0] * g.shape[1], g.size + gx.size,
                g, kh, kw, sh, sw, ph, pw, bool(count_include_pad), divisor_override, gx)
    return gx


@njit(cache=True, nogil=True)
def _avg_pool2x2_backward(g, scale, gx, p0, p1):
    """The 2x2 / stride 2 form of ``_avg_pool2d_backward``: each g / divisor to its window's
    four inputs; an odd last row or column (outside every window) gets 0."""
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    gp = g.reshape(N * C, Ho, Wo)
    gxp = gx.reshape(N * C, H, W)
    z = gx.dtype.type(0)
    for p in range(p0, p1):
        for oh in range(Ho):
            top = gxp[p, 2 * oh]
            bottom = gxp[p, 2 * oh + 1]
            grow = gp[p, oh]
            for ow in range(Wo):
                v = grow[ow] * scale
                top[2 * ow] = v
                top[2 * ow + 1] = v
                bottom[2 * ow] = v
                bottom[2 * ow + 1] = v
            for w in range(2 * Wo, W):
                top[w] = z
                bottom[w] = z
        for h in range(2 * Ho, H):
            gxp[p, h, :] = z


@njit(cache=True, nogil=True)
def _avg_pool2d_backward(g, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, gx,
                         p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    P = N * C
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    h0, h1, w0, w1, inv = _avg_windows(Ho, Wo, kh, kw, sh, sw, ph, pw, H, W,
                                       count_include_pad, divisor_override, g.dtype)
    spread = np.empty(W, dtype=g.dtype)
    for p in range(p0, p1):
        dst = gxp[p]
        dst[:, :] = 0                   # zero-filled per plane, by the thread that owns it
        for oh in range(Ho):
            # the windows of one output row cover the same input rows, so spread the row's
            # shares along w once, then add that row to each covered input row (a vectorised
            # add instead of kh * kw scalar updates per window)
            spread[:] = 0
            for ow in range(Wo):
                share = gp[p, oh, ow] * inv[oh, ow]
                for w in range(w0[ow], w1[ow]):
                    spread[w] += share
            for h in range(h0[oh], h1[oh]):
                row = dst[h]
                for w in range(W):
                    row[w] += spread[w]


# ---- adaptive pooling ---------------------------------------------------------------------------


@njit(cache=True)
def _adaptive_ranges(size, out_size):
    """Per output o, the input range [floor(o*size/out_size), ceil((o+1)*size/out_size))."""
    lo = np.empty(out_size, dtype=np.int64)
    hi = np.empty(out_size, dtype=np.int64)
    for o in range(out_size):
        lo[o] = (o * size) // out_size
        hi[o] = ((o + 1) * size + out_size - 1) // out_size
    return lo, hi


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _global_avg_forward(x, out, p0, p1):
    """Mean of each plane: (N, C, H, W) -> (N, C, 1, 1). One flat sum per plane; reassociation
    lets it vectorise (NaN and Inf still propagate)."""
    N, C, H, W = x.shape
    P = N * C
    xf = x.reshape(P, H * W)
    of = out.reshape(P)
    for p in range(p0, p1):
        s = x.dtype.type(0)
        for i in range(H * W):
            s += xf[p, i]
        of[p] = s / x.dtype.type(H * W)


def adaptive_avg_pool2d_forward(x, Ho, Wo):
    """Average over adaptive windows; (N, C, H, W) -> (N, C, Ho, Wo)."""
    out = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    planes = x.shape[0] * x.shape[1]
    if Ho == 1 and Wo == 1:                  # global average pooling (network heads)
        over_planes(_global_avg_forward, planes, x.size, x, out)
    else:
        over_planes(_adaptive_avg_pool2d_forward, planes, x.size + out.size, x, out)
    return out


@njit(cache=True, nogil=True)
def _adaptive_avg_pool2d_forward(x, out, p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    h0, h1 = _adaptive_ranges(H, Ho)
    w0, w1 = _adaptive_ranges(W, Wo)
    for p in range(p0, p1):
        for oh in range(Ho):
            for ow in range(Wo):
                s = x.dtype.type(0)
                for h in range(h0[oh], h1[oh]):
                    for w in range(w0[ow], w1[ow]):
                        s += xp[p, h, w]
                op[p, oh, ow] = s / x.dtype.type((h1[oh] - h0[oh]) * (w1[ow] - w0[ow]))


def adaptive_avg_pool2d_backward(g, H, W):
    """Each window element gets g / window size; (N, C, Ho, Wo) -> (N, C, H, W)."""
    gx = np.empty(g.shape[:2] + (H, W), dtype=g.dtype)
    over_planes(_adaptive_avg_pool2d_backward, g.shape[0] * g.shape[1], g.size + gx.size, g, gx)
    return gx


@njit(cache=True, nogil=True)
def _adaptive_avg_pool2d_backward(g, gx, p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    P = N * C
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    h0, h1 = _adaptive_ranges(H, Ho)
    w0, w1 = _adaptive_ranges(W, Wo)
    zero = g.dtype.type(0)
    gxf = gx.reshape(P, H * W)
    for p in range(p0, p1):
        if Ho == 1 and Wo == 1:              # global pooling: one share for the whole plane
            share = gp[p, 0, 0] / g.dtype.type(H * W)
            for i in range(H * W):
                gxf[p, i] = share
            continue
        gxp[p, :, :] = zero
        for oh in range(Ho):
            for ow in range(Wo):
                share = gp[p, oh, ow] / g.dtype.type((h1[oh] - h0[oh]) * (w1[ow] - w0[ow]))
                for h in range(h0[oh], h1[oh]):
                    for w in range(w0[ow], w1[ow]):
                        gxp[p, h, w] += share


def adaptive_max_pool2d_forward(x, Ho, Wo):
    """Max over adaptive windows with switches (flat h*W + w, int64);
    (N, C, H, W) -> (N, C, Ho, Wo) twice.  Backward: ``max_pool2d_backward``."""
    out = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    idx = np.empty(x.shape[:2] + (Ho, Wo), dtype=np.int64)
    over_planes(_adaptive_max_pool2d_forward, x.shape[0] * x.shape[1], x.size + out.size, x, out,
                idx)
    return out, idx


@njit(cache=True, nogil=True)
def _adaptive_max_pool2d_forward(x, out, idx, p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    ip = idx.reshape(P, Ho, Wo)
    h0, h1 = _adaptive_ranges(H, Ho)
    w0, w1 = _adaptive_ranges(W, Wo)
    for p in range(p0, p1):
        for oh in range(Ho):
            for ow in range(Wo):
                best = xp[p, h0[oh], w0[ow]]
                where = h0[oh] * W + w0[ow]
                for h in range(h0[oh], h1[oh]):
                    for w in range(w0[ow], w1[ow]):
                        v = xp[p, h, w]
                        take = (v > best) | (v != v)       # branch-free; a NaN wins
                        best = v if take else best
                        where = h * W + w if take else where
                op[p, oh, ow] = best
                ip[p, oh, ow] = where


# ---- max unpooling ------------------------------------------------------------------------------


def max_unpool2d_forward(x, indices, Ho, Wo):
    """out (zeros) with out.flat-per-plane[indices] = x: the inverse of max pooling through its
    switches.  (N, C, H, W) -> (N, C, Ho, Wo).  Indices must lie in [0, Ho*Wo)."""
    out = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    over_planes(_max_unpool2d_forward, x.shape[0] * x.shape[1], x.size + out.size, x, indices,
                out)
    return out


@njit(cache=True, nogil=True)
def _max_unpool2d_forward(x, indices, out, p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = N * C
    xp = x.reshape(P, H * W)
    ip = indices.reshape(P, H * W)
    op = out.reshape(P, Ho * Wo)
    for p in range(p0, p1):
        dst = op[p]
        dst[:] = 0
        src = xp[p]
        sw = ip[p]
        for k in range(H * W):
            dst[sw[k]] = src[k]


def max_unpool2d_backward(g, indices):
    """dL/dx = g gathered at the switches.
    g (N, C, Ho, Wo) and indices (N, C, H, W) -> (N, C, H, W)."""
    gx = np.empty(indices.shape, dtype=g.dtype)
    over_planes(_max_unpool2d_backward, g.shape[0] * g.shape[1], g.size + gx.size, g, indices,
                gx)
    return gx


@njit(cache=True, nogil=True)
def _max_unpool2d_backward(g, indices, gx, p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = indices.shape[2], indices.shape[3]
    P = N * C
    gp = g.reshape(P, Ho * Wo)
    ip = indices.reshape(P, H * W)
    gxp = gx.reshape(P, H * W)
    for p in range(p0, p1):
        src = gp[p]
        sw = ip[p]
        dst = gxp[p]
        for k in range(H * W):
            dst[k] = src[sw[k]]


# the numpy twin of each kernel (backend.get_kernel runs it when AUTOGRAD_CNN_REFERENCE=1)
TWINS = {name: getattr(reference, name) for name in (
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d_forward",
    "max_unpool2d_forward",
    "max_unpool2d_backward",
)}
