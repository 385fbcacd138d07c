"""Stride-1 convolution with few output channels (LeNet's C3: 6 -> 16 channels, 5x5, 10x10
outputs): direct kernels that keep a block of outputs in vector registers.

    y[n, k, oy, ox] = b[k] + sum_{c, i, j} w[k, c, i, j] * xp[n, c, oy + i, ox + j]

xp is x zero-padded (shifted._Grid). For each output row, PB consecutive pixels times all K output
channels are accumulated over the C*KH*KW taps in a (PB, KP) block, starting from the bias: per
tap, one load of the weight vector w[c, i, j, :] (output channels innermost, padded to KP, a
multiple of 8, with zeros) and PB broadcast multiply-adds. No im2col matrix is written, and no
junk column computed (the ``shifted`` GEMM's are 40% of its work on 10x10 outputs).

Backward, both gradients in one kernel (``_make_backward``), a pass for each:

    dx[n, c, y, x] = sum_{k, i, j} w[k, c, i, j] g[n, k, y + pt - i, x + pl - j]: summed straight
         into dx, vectorised along the image row (XL pixels) with all C input channels (6 on
         C3, not padded to 8 lanes) in registers, and only the kernel rows that reach g
         visited. An earlier form ran the forward kernel on g zero-padded by KH-1, KW-1 with
         flipped weights: 8 lanes for 6 channels and all the zero border taps, 1.0-1.1 ms on
         C3 at one thread against 0.53 ms now (its limit: a vector spans the 14-pixel row,
         16 lanes, and the taps whose column misses g still cost a lane each, 1.7x the useful
         multiply-adds, at this machine's one 16-wide FMA per cycle)
    dw[k, c, i, j] = sum_{n, oy, ox} g[n, k, oy, ox] xp[n, c, oy + i, ox + j]: for each (c, i)
         a (KW, KP) block accumulated over the output pixels, g laid out channels-last per
         image, summed over fixed chunks of images (reproducible whatever the threads do)

The blocks are stack arrays (``_block``, an ``alloca``) indexed by compile-time constants, which
LLVM promotes to registers; the sizes (KP, KH, KW, PB, CC, XL, RB) are constants of one kernel
per geometry, made by a factory and memoised (``_compile``, with LLVM's SLP vectoriser on).
The multiply-adds are written as explicit vector operations (``_fma_lanes``, ``_copy_lanes``,
``_store_lanes``: LLVM vector IR, masked at the row ends): written as scalar loops for the
vectoriser, a block above 80 values was no longer unrolled and ran 30-50x slower.

Threads: the images are claimed one at a time, with an atomic counter (``_claim``), by the
calling thread and the helpers of ``threads.share_items``: the caller starts at once and a
helper joins when it wakes (20-200 us later on this project's VM), instead of a fixed share
that the caller then waits for. Only groups 1, stride 1 and dilation 1 (``applies``).
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
from .threads import share_items

_u = np.uint64       # unsigned indices: no wrap-around checks for negative ones in the hot loops
# The forward's (PB, KP) block of accumulators: at most this many SIMD registers (LeNet C3 at
# one thread, kernel alone: 10 pixels x 16 channels 334 us, 5 x 16 349 us; the block written
# with scalar loops, for LLVM's SLP vectoriser, had to stay under 80 values and 7 pixels, or
# LLVM stopped unrolling it and it ran 30-50x slower)
_ACC_VECTORS = 12


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


@intrinsic
def _fma_lanes_jit(typingctx, acc, ai, wv, src, si, lanes):
    """acc[ai:ai+L] += wv * src[si:si+L] as one L-wide vector multiply-add (L a literal int):
    an unaligned vector load of src, a broadcast of wv, and a load and store of acc that LLVM's
    SROA turns into a register when acc is a stack block indexed by constants."""
    if not isinstance(lanes, types.IntegerLiteral) or acc.dtype != src.dtype:
        return None
    n = lanes.literal_value

    def codegen(context, builder, signature, args):
        acc_t, _, wv_t, src_t = signature.args[:4]
        elt = context.get_data_type(acc_t.dtype)
        vec = llvm_ir.VectorType(elt, n)
        size = context.get_abi_sizeof(elt)

        def at(arr_t, arr, index):
            data = context.make_array(arr_t)(context, builder, arr).data
            return builder.bitcast(builder.gep(data, [index]), vec.as_pointer())

        pa, ps = at(acc_t, args[0], args[1]), at(src_t, args[3], args[4])
        w = context.cast(builder, args[2], wv_t, acc_t.dtype)
        i32 = llvm_ir.IntType(32)
        wvec = builder.insert_element(llvm_ir.Constant(vec, llvm_ir.Undefined), w,
                                      llvm_ir.Constant(i32, 0))
        wvec = builder.shuffle_vector(wvec, llvm_ir.Constant(vec, llvm_ir.Undefined),
                                      llvm_ir.Constant(llvm_ir.VectorType(i32, n), [0] * n))
        suffix = {4: "f32", 8: "f64"}[size]
        fma = cgutils.get_or_insert_function(builder.module,
                                             llvm_ir.FunctionType(vec, [vec] * 3),
                                             f"llvm.fma.v{n}{suffix}")
        total = builder.call(fma, [wvec, builder.load(ps, align=size),
                                   builder.load(pa, align=size)])
        builder.store(total, pa, align=size)
        return context.get_dummy_value()
    return types.none(acc, ai, wv, src, si, lanes), codegen


def _masked(builder, context, signature, args, n, load):
    """The shared part of _load_lanes_jit / _store_lanes_jit: the element pointers of the two
    arrays as vector pointers, and the mask of the first ``count`` of ``n`` lanes."""
    dst_t, _, src_t = signature.args[:3]
    elt = context.get_data_type(dst_t.dtype)
    vec = llvm_ir.VectorType(elt, n)

    def at(arr_t, arr, index):
        data = context.make_array(arr_t)(context, builder, arr).data
        return builder.bitcast(builder.gep(data, [index]), vec.as_pointer())

    i64 = llvm_ir.IntType(64)
    count = builder.insert_element(llvm_ir.Constant(llvm_ir.VectorType(i64, n), llvm_ir.Undefined),
                                   context.cast(builder, args[4], signature.args[4], types.int64),
                                   llvm_ir.Constant(llvm_ir.IntType(32), 0))
    count = builder.shuffle_vector(count, llvm_ir.Constant(llvm_ir.VectorType(i64, n),
                                                           llvm_ir.Undefined),
                                   llvm_ir.Constant(llvm_ir.VectorType(llvm_ir.IntType(32), n),
                                                    [0] * n))
    mask = builder.icmp_signed("<", llvm_ir.Constant(llvm_ir.VectorType(i64, n), list(range(n))),
                               count)
    size = context.get_abi_sizeof(elt)
    suffix = f"v{n}{ {4: 'f32', 8: 'f64'}[size] }.p0"
    return at(dst_t, args[0], args[1]), at(src_t, args[2], args[3]), mask, vec, size, suffix


@intrinsic
def _copy_lanes_jit(typingctx, dst, di, src, si, count, lanes):
    """dst[di:di+L] = src[si:si+count] followed by zeros (0 <= count <= L, L a literal int):
    a masked vector load (src is not read past its count) and a full vector store."""
    if not isinstance(lanes, types.IntegerLiteral) or dst.dtype != src.dtype:
        return None
    n = lanes.literal_value

    def codegen(context, builder, signature, args):
        pd, ps, mask, vec, size, suffix = _masked(builder, context, signature, args, n, True)
        i32 = llvm_ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, llvm_ir.FunctionType(vec, [ps.type, i32, mask.type, vec]),
            f"llvm.masked.load.{suffix}")
        value = builder.call(fn, [ps, llvm_ir.Constant(i32, size), mask,
                                  llvm_ir.Constant(vec, None)])
        builder.store(value, pd, align=size)
        return context.get_dummy_value()
    return types.none(dst, di, src, si, count, lanes), codegen


@intrinsic
def _store_lanes_jit(typingctx, dst, di, src, si, count, lanes):
    """dst[di:di+count] = src[si:si+count] (0 <= count <= L, L a literal int): a full vector
    load of src and a masked vector store (dst is not written past its count)."""
    if not isinstance(lanes, types.IntegerLiteral) or dst.dtype != src.dtype:
        return None
    n = lanes.literal_value

    def codegen(context, builder, signature, args):
        pd, ps, mask, vec, size, suffix = _masked(builder, context, signature, args, n, False)
        i32 = llvm_ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, llvm_ir.FunctionType(llvm_ir.VoidType(),
                                                 [vec, pd.type, i32, mask.type]),
            f"llvm.masked.store.{suffix}")
        builder.call(fn, [builder.load(ps, align=size), pd, llvm_ir.Constant(i32, size), mask])
        return context.get_dummy_value()
    return types.none(dst, di, src, si, count, lanes), codegen


def _copy_lanes(dst, di, src, si, count, lanes):
    """dst[di:di+lanes] = src[si:si+count] then zeros (numpy, when Numba's JIT is disabled)."""
    dst[di:di + lanes] = 0
    dst[di:di + count] = src[si:si + count]


def _store_lanes(dst, di, src, si, count, lanes):
    """dst[di:di+count] = src[si:si+count] (numpy, when Numba's JIT is disabled)."""
    dst[di:di + count] = src[si:si + count]


@overload(_copy_lanes, inline="always")
def _copy_lanes_overload(dst, di, src, si, count, lanes):
    if isinstance(lanes, types.IntegerLiteral):
        return lambda dst, di, src, si, count, lanes: _copy_lanes_jit(dst, di, src, si, count,
                                                                      lanes)


@overload(_store_lanes, inline="always")
def _store_lanes_overload(dst, di, src, si, count, lanes):
    if isinstance(lanes, types.IntegerLiteral):
        return lambda dst, di, src, si, count, lanes: _store_lanes_jit(dst, di, src, si, count,
                                                                       lanes)


def _fma_lanes(acc, ai, wv, src, si, lanes):
    """acc[ai:ai+lanes] += wv * src[si:si+lanes] (numpy, when Numba's JIT is disabled)."""
    acc[ai:ai + lanes] += wv * src[si:si + lanes]


@overload(_fma_lanes, inline="always")
def _fma_lanes_overload(acc, ai, wv, src, si, lanes):
    if isinstance(lanes, types.IntegerLiteral):
        return lambda acc, ai, wv, src, si, lanes: _fma_lanes_jit(acc, ai, wv, src, si, lanes)


@intrinsic
def _fetch_add_jit(typingctx, counter, index):
    """counter[index] += 1 as one atomic read-modify-write (sequentially consistent); returns the
    value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        ptr = builder.gep(data, [args[1]])
        return builder.atomic_rmw("add", ptr, llvm_ir.Constant(llvm_ir.IntType(64), 1),
                                  "seq_cst")
    return types.int64(counter, index), codegen


_claim_lock = threading.Lock()


def _claim(counter, index):
    """counter[index] += 1, returning the value before: atomically (a lock when Numba's JIT is
    disabled, an atomic add in compiled code). The kernels hand out their images with it."""
    with _claim_lock:
        old = int(counter[index])
        counter[index] = old + 1
    return old


@overload(_claim, inline="always")
def _claim_overload(counter, index):
    return lambda counter, index: _fetch_add_jit(counter, index)


def applies(kernel_size, stride, dilation, groups) -> bool:
    """True for the geometries this kernel computes: stride 1, dilation 1, one group."""
    return tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1


def _lanes(k: int) -> int:
    """Output channels rounded up to a multiple of 8 (whole SIMD vectors)."""
    return -(-k // 8) * 8


def _make_taps(kp, kh, kw, pb):
    """y[n, k, oy, ox] = b[k] + sum_{c,i,j} wt[c, i, j, k] xp[n, c, oy+i, ox+j] for k < k_out,
    for the images n < n_img claimed from ``counters[0]`` (``_claim``; a helper, limit < n_img,
    stops after image limit - 1), where only the rows r0 <= oy+i < r1 of xp are read (the
    others must be zero: padding).  xf flat (N, C, Hp, Wp), wf flat (C, KH, KW, KP), bf (KP,)
    (zeros for no bias), yf flat (N, k_out, Ho, Wo). Per tap, one KP-wide vector of weights
    times PB pixels (``_fma_lanes``), the (PB, KP) block in registers."""
    ukp, ukh, ukw, upb = _u(kp), _u(kh), _u(kw), _u(pb)
    nblock = pb * kp

    @njit(cache=True, nogil=True, fastmath={"contract"})
    def taps(xf, wf, bf, counters, n_img, limit, c_in, hp, wp, ho, wo, k_out, r0, r1, yf):
        acc = _block(nblock, xf.dtype)
        one = _block(kp, xf.dtype)
        uc, uhp, uwp, uho, uwo, uk = _u(c_in), _u(hp), _u(wp), _u(ho), _u(wo), _u(k_out)
        full = uwo // upb * upb
        counter = counters[0]
        while True:
            n = _u(_claim(counter, 0))
            if n >= _u(n_img):
                break
            for oy in range(_u(0), uho):
                yb = n * uk * uho * uwo + oy * uwo
                # the kernel rows i that read the rows r0 <= oy + i < r1 (the others are zero)
                i0 = _u(max(0, r0 - np.int64(oy)))
                i1 = _u(max(min(kh, r1 - np.int64(oy)), 0))
                if i1 < i0:
                    i1 = i0
                for ox0 in range(_u(0), full, upb):
                    for p in range(_u(0), upb):
                        for k in range(_u(0), ukp):
                            acc[p * ukp + k] = bf[k]
                    for c in range(_u(0), uc):
                        for i in range(i0, i1):
                            xb = ((n * uc + c) * uhp + oy + i) * uwp + ox0
                            for j in range(_u(0), ukw):
                                wb = ((c * ukh + i) * ukw + j) * ukp
                                for p in range(_u(0), upb):
                                    _fma_lanes(acc, p * ukp, xf[xb + p + j], wf, wb, kp)
                    for p in range(_u(0), upb):
                        for k in range(_u(0), uk):
                            yf[yb + k * uho * uwo + ox0 + p] = acc[p * ukp + k]
                for ox in range(full, uwo):           # the row's last Wo % PB pixels
                    for k in range(_u(0), ukp):
                        one[k] = bf[k]
                    for c in range(_u(0), uc):
                        for i in range(i0, i1):
                            xb = ((n * uc + c) * uhp + oy + i) * uwp + ox
                            for j in range(_u(0), ukw):
                                wb = ((c * ukh + i) * ukw + j) * ukp
                                _fma_lanes(one, 0, xf[xb + j], wf, wb, kp)
                    for k in range(_u(0), uk):
                        yf[yb + k * uho * uwo + ox] = one[k]
            if n + 1 >= _u(limit):       # a helper leaves the last images to the caller
                break
    return taps


def _make_backward(cc, kh, kw, xl, rb, kp):
    """Both gradients of y = x * w for the images claimed from ``counters`` (a pass over them
    for dx, then one for dw, each thread in one call: no return to Python, and so no wait for
    the GIL, between the two):

    dx[n, c, y, x] = sum_{k, i, j} w[k, c, i, j] g[n, k, y + pt - i, x + pl - j] (g zero
        outside its Ho x Wo), if do_dx, with counters[rx]: a correlation summed straight into
        dx, a block of RB rows x CC input channels x XL consecutive pixels of a row (the
        vectors) in registers over the K * KH * KW taps; per tap, RB vector loads of g and
        RB * CC broadcast multiply-adds. Only the kernel rows that reach g are visited; the
        columns are not pruned (a vector spans the row), so g is read from a frame with zero
        borders, gs (K * GH * GW, ``_input_frame``: g[n] at row KH - 1, column KW - 1).
        wi flat (NCB, K, KH, KW, CC): wi[b, k, i, j, q] = w[k, b*CC + q, i, j] (zero past C);
        dxf flat (N, C, H, W), every element written.
    dwf[q, c, i, j, k] = sum_{n in chunk q, oy, ox} g[n, k, oy, ox] xp[n, c, oy+i, ox+j], if
        do_dw, with counters[rw] handing out the n_chunks chunks of images (chunk q: images
        q*N // n_chunks .. (q+1)*N // n_chunks - 1): per image, g[n] channels last into gt
        (Ho * Wo * KP), then for each (c, i) a (KW, KP) block of dw in registers over the
        Ho x Wo pixels, one KP-wide vector of gt times KW broadcast pixels of xp each.
        xf flat (N, C, Hp, Wp) (x zero-padded), dwf flat (n_chunks, C, KH, KW, KP), every
        element written. Each chunk is summed by one thread in image order, so dw (the sum
        of the chunks, in order) does not depend on which thread took which chunk.

    gf flat (N, K, Ho, Wo). A helper (limit < n_img, limit_dw < n_chunks) stops claiming after
    image limit - 1 (chunk limit_dw - 1)."""
    ucc, ukh, ukw, uxl, urb, ukp = _u(cc), _u(kh), _u(kw), _u(xl), _u(rb), _u(kp)
    nblock = rb * cc * xl
    nwblock = kw * kp

    @njit(cache=True, nogil=True, fastmath={"contract"})
    def backward(gf, wi, xf, counters, n_img, limit, n_chunks, limit_dw, k_out, ho, wo, c_in, h,
                 w, pt, pl, gh, gw, hp, wp, gs, dxf, gt, dwf, do_dx, rx, do_dw, rw):
        acc = _block(nblock, gf.dtype)
        wacc = _block(nwblock, gf.dtype)
        uk, uho, uwo, uc, uh, uw = _u(k_out), _u(ho), _u(wo), _u(c_in), _u(h), _u(w)
        ugh, ugw, upt, upl, uhp, uwp = _u(gh), _u(gw), _u(pt), _u(pl), _u(hp), _u(wp)
        un, ulimit, npix = _u(n_img), _u(limit), uho * uwo
        if do_dx:
            nxb = (uw + uxl - 1) // uxl
            ncb = (uc + ucc - 1) // ucc
            cols = min(uwo, nxb * uxl + upl)   # the columns of g that some pixel of dx reads
            gs[:] = 0
            while True:
                n = _u(_claim(counters[rx], 0))
                if n >= un:
                    break
                for k in range(_u(0), uk):                 # this image of g into the frame
                    for r in range(_u(0), uho):
                        src = ((n * uk + k) * uho + r) * uwo
                        dst = (k * ugh + r + ukh - 1) * ugw + ukw - 1
                        for q in range(_u(0), cols, uxl):
                            _copy_lanes(gs, dst + q, gf, src + q, min(uxl, cols - q), xl)
                for cb in range(_u(0), ncb):
                    for y0 in range(_u(0), uh, urb):
                        # the kernel rows i with which a row y0 .. y0+RB-1 reaches a row of g
                        i0 = _u(max(0, np.int64(y0) + pt - ho + 1))
                        i1 = _u(max(0, min(kh, np.int64(y0) + rb + pt)))
                        for x0 in range(_u(0), uw, uxl):
                            for q in range(_u(0), _u(nblock)):
                                acc[q] = 0
                            for k in range(_u(0), uk):
                                for i in range(i0, i1):
                                    # the frame's element of g[k, y0 + pt - i, x0 + pl] (j = 0)
                                    gb = (k * ugh + y0 + upt + ukh - 1 - i) * ugw + x0 + upl \
                                        + ukw - 1
                                    wb = ((cb * uk + k) * ukh + i) * ukw * ucc
                                    for j in range(_u(0), ukw):
                                        for yy in range(_u(0), urb):
                                            for q in range(_u(0), ucc):
                                                _fma_lanes(acc, (yy * ucc + q) * uxl,
                                                           wi[wb + j * ucc + q], gs,
                                                           gb + yy * ugw - j, xl)
                            for yy in range(_u(0), min(urb, uh - y0)):
                                for q in range(_u(0), min(ucc, uc - cb * ucc)):
                                    db = ((n * uc + cb * ucc + q) * uh + y0 + yy) * uw + x0
                                    _store_lanes(dxf, db, acc, (yy * ucc + q) * uxl,
                                                 min(uxl, uw - x0), xl)
                if n + 1 >= ulimit:       # a helper leaves the last images to the caller
                    break
        if do_dw:
            gt[:] = 0
            uchunks, size = _u(n_chunks), uc * ukh * ukw * ukp
            while True:
                chunk = _u(_claim(counters[rw], 0))
                if chunk >= uchunks:
                    break
                base = chunk * size
                for q in range(_u(0), size):
                    dwf[base + q] = 0
                for n in range(chunk * un // uchunks, (chunk + _u(1)) * un // uchunks):
                    for k in range(_u(0), uk):            # g[n] (K, Ho*Wo) -> gt (Ho*Wo, KP)
                        gb = (n * uk + k) * npix
                        for q in range(_u(0), npix):
                            gt[q * ukp + k] = gf[gb + q]
                    for c in range(_u(0), uc):
                        for i in range(_u(0), ukh):
                            db = base + (c * ukh + i) * ukw * ukp
                            for q in range(_u(0), _u(nwblock)):
                                wacc[q] = dwf[db + q]
                            for oy in range(_u(0), uho):
                                xb = ((n * uc + c) * uhp + oy + i) * uwp
                                gb = oy * uwo * ukp
                                for ox in range(_u(0), uwo):
                                    for j in range(_u(0), ukw):
                                        _fma_lanes(wacc, j * ukp, xf[xb + ox + j], gt,
                                                   gb + ox * ukp, kp)
                            for q in range(_u(0), _u(nwblock)):
                                dwf[db + q] = wacc[q]
                if chunk + 1 >= _u(limit_dw):
                    break
    return backward


def _input_frame(kh, kw, ho, wo, w_in, pl, xl, rb):
    """(GH, GW): the frame of g that _make_backward's dx pass reads. Rows: KH - 1 of zeros
    above g's Ho and RB - 1 below (a row block's kernel rows reach at most that far past g);
    columns: KW - 1 zeros left of g, and on the right up to the last vector of the last pixel
    block (x0 + pl + XL - 1 + KW - 1), with room for the copy's whole vectors."""
    nxb = -(-w_in // xl)
    cols = min(wo, nxb * xl + pl)
    right = max(nxb * xl + pl, -(-cols // xl) * xl)
    return kh - 1 + ho + rb - 1, kw - 1 + right


_kernels: dict = {}
_compile_lock = threading.Lock()


def _compile(key, make, dtype, spec):
    """The kernel ``make(*key)``, compiled for ``dtype`` with LLVM's SLP vectoriser on (memoised;
    Numba's on-disk cache then serves later processes). The vectoriser switch is Numba's global
    configuration, read when a function is compiled: it is set only around this compilation,
    under a lock (another thread compiling at that moment would get vectorised code too, which
    is harmless). ``spec`` (number of arguments, positions of the arrays of ``dtype``, position
    of the int64 counter): a call of those types with no images compiles the kernel (or loads
    it from the cache), the types of every later call (the counters 2-D)."""
    full = (make.__name__, key, np.dtype(dtype).str)
    fn = _kernels.get(full)
    if fn is not None:
        return fn
    with _compile_lock:
        fn = _kernels.get(full)
        if fn is None:
            fn = make(*key)
            n_args, arrays, counter = spec
            args = [0] * n_args
            for a in arrays:
                args[a] = np.zeros(1, dtype)
            args[counter] = np.zeros((2, 1), np.int64)
            saved = config.SLP_VECTORIZE
            config.SLP_VECTORIZE = 1
            try:
                fn(*args)
            finally:
                config.SLP_VECTORIZE = saved
            _kernels[full] = fn
    return fn


def _limit(n_img, slot):
    """The image (or chunk) after which a helper (slot > 0) stops claiming: it leaves the last
    ~1/16 of them (at least one) to the calling thread, which finishes them while the helper
    returns to Python, sets its future and releases the GIL, so that the caller neither sleeps
    on the future nor waits for the GIL (a sleeping thread took 20-90 us to wake here). With
    it, spinning for the helper's last images (tried: a nogil wait on the counters, up to
    2^20 cycles) no longer made a difference on LeNet C3 (forward 231 / 248 us, backward
    508 / 500 us, medians without / with)."""
    return n_img if slot == 0 else n_img - max(1, n_img // 16)


def _pixels_per_block(kp, wo, itemsize):
    """PB for rows of Wo pixels: at most _ACC_VECTORS registers of accumulators (PB pixels x KP
    lanes), covering as many of the row's pixels with whole blocks as possible (the rest go one
    at a time, a chain of dependent multiply-adds, several times slower per pixel)."""
    cap = max(1, _ACC_VECTORS // -(-kp // _vector_lanes(itemsize)))
    return max(range(1, cap + 1), key=lambda pb: (wo // pb * pb, pb))


def _channels_last_weights(w):
    """w (K, C, KH, KW) -> (C, KH, KW, KP), output channels innermost, zero past K."""
    k_out = w.shape[0]
    wt = np.zeros(w.shape[1:] + (_lanes(k_out),), dtype=w.dtype)
    wt[..., :k_out] = w.transpose(1, 2, 3, 0)
    return wt


def _padded(x, grid):
    """x in its zero-padded frame (N, C, Hp, Wp), flat: x itself when no padding is needed, else
    this thread's scratch (padded once for the batch here; the helpers only read it)."""
    if grid.in_place():
        return np.ascontiguousarray(x).reshape(-1)
    n_img, c_in = x.shape[:2]
    buf = buffer("smallconv.x", n_img * c_in * grid.hp * grid.wp, x.dtype)
    return grid.pad(x, 0, n_img, buf).reshape(-1)


_plans: dict = {}


def _plan(kind: str, make, *key):
    """``make(*key)``, memoised: what a call needs that depends only on its shapes, dtype and
    padding (the frame, the register blocking, the compiled kernel). Working them out took
    4-5 us of Python per call, a third of a small layer's whole convolution."""
    plan = _plans.get((kind,) + key)
    if plan is None:
        plan = _plans[(kind,) + key] = make(*key)
    return plan


def _forward_plan(in_hw, kernel, k_out, padding, out_size, dtype):
    grid = _Grid(in_hw, kernel, padding, (1, 1), out_size)
    kp = _lanes(k_out)
    fn = _compile((kp,) + kernel + (_pixels_per_block(kp, out_size[1], dtype.itemsize),),
                  _make_taps, dtype, (15, (0, 1, 2, 14), 3))
    return grid, kp, fn


def forward(x, w, padding, out_size, bias=None):
    """y = x * w + b (stride 1).  x (N, C, H, W), w (K, C, KH, KW), bias (K,) or None
    -> y (N, K, Ho, Wo)."""
    n_img, c_in = x.shape[:2]
    k_out, _, kh, kw = w.shape
    ho, wo = out_size
    grid, kp, fn = _plan("forward", _forward_plan, x.shape[2:], (kh, kw), k_out,
                         tuple(padding), tuple(out_size), x.dtype)
    wt = _channels_last_weights(w).reshape(-1)
    bt = np.zeros(kp, dtype=x.dtype)
    if bias is not None:
        bt[:k_out] = bias
    y = np.empty((n_img, k_out, ho, wo), dtype=x.dtype)
    xf, yf = _padded(x, grid), y.reshape(-1)
    r0, r1 = grid.pt, grid.pt + grid.h_in     # xp's rows of x: the others are zero, skipped

    def run(counter, slot):
        fn(xf, wt, bt, counter, n_img, _limit(n_img, slot), c_in, grid.hp, grid.wp, ho, wo,
           k_out, r0, r1, yf)

    share_items(n_img, run)
    return y


def _vector_lanes(itemsize):
    """Values per SIMD register of the host: 64 bytes with AVX-512, else 32."""
    return (64 if _avx512() else 32) // itemsize


def _avx512():
    global _HAS_AVX512
    if _HAS_AVX512 is None:
        try:
            import llvmlite.binding as ll
            _HAS_AVX512 = "+avx512f" in ll.get_host_cpu_features().flatten()
        except Exception:        # unknown host: assume the smaller registers
            _HAS_AVX512 = False
    return _HAS_AVX512


_HAS_AVX512 = None
# dx's register block: at most _ACC_VECTORS vectors of accumulators (RB rows x CC channels),
# and at least _MIN_CHAINS of them (independent multiply-add chains hide the FMA latency).
_MIN_CHAINS = 6
# dw is summed over at most this many chunks of images (each a partial sum of its own): enough
# to share 64 images between 2 threads in 4-image steps, few enough that the partial sums stay
# small (16 x C*KH*KW*KP values)
_DW_CHUNKS = 16


def _input_blocking(c_in, w_in, itemsize):
    """(CC, XL, RB) of _make_backward's dx pass for C input channels and rows of W pixels: XL a
    whole register or half of one, whichever wastes fewer lanes on the row (the whole one on a tie);
    the channels in as few blocks of at most _ACC_VECTORS as possible; more rows per block only
    when the channels alone give fewer than _MIN_CHAINS accumulators (extra rows cost kernel
    rows that reach no row of g: LeNet C3's dx, measured: 1 row 528 us, 2 rows 572)."""
    v = _vector_lanes(itemsize)
    xl = min((v, v // 2), key=lambda n: (-(-w_in // n) * n, -n))
    nb = -(-c_in // _ACC_VECTORS)
    cc = -(-c_in // nb)
    rb = max(1, min(_ACC_VECTORS // cc, -(-_MIN_CHAINS // cc)))
    return cc, xl, rb


def _input_weights(w, cc):
    """w (K, C, KH, KW) -> (NCB, K, KH, KW, CC), the input channels in blocks of CC, innermost,
    zero past C."""
    k_out, c_in, kh, kw = w.shape
    ncb = -(-c_in // cc)
    wt = np.zeros((ncb * cc, k_out, kh, kw), dtype=w.dtype)
    wt[:c_in] = w.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(wt.reshape(ncb, cc, k_out, kh, kw).transpose(0, 2, 3, 4, 1))


def _backward_plan(c_in, in_hw, k_out, kernel, out_size, padding, dtype):
    cc, xl, rb = _input_blocking(c_in, in_hw[1], dtype.itemsize)
    kp = _lanes(k_out)
    fn = _compile((cc,) + kernel + (xl, rb, kp), _make_backward, dtype,
                  (28, (0, 1, 2, 20, 21, 22, 23), 3))
    frame = _input_frame(*kernel, *out_size, in_hw[1], padding[1], xl, rb)
    return cc, kp, fn, frame, _Grid(in_hw, kernel, padding, (1, 1), out_size)


def backward(x, w, g, padding, need_input=True, need_weight=True):
    """(dx, dw), each None unless asked for, in one parallel region and one kernel call per
    thread (``_make_backward``).  x (N, C, H, W), w (K, C, KH, KW), g (N, K, Ho, Wo)
    -> dx (N, C, H, W), dw (K, C, KH, KW)."""
    n_img, c_in, h, w_in = x.shape
    k_out, _, kh, kw = w.shape
    ho, wo = g.shape[2:]
    pt, pl = padding
    dtype = g.dtype
    cc, kp, fn, (gh, gw), grid = _plan("backward", _backward_plan, c_in, (h, w_in), k_out,
                                       (kh, kw), (ho, wo), tuple(padding), dtype)
    gf = np.ascontiguousarray(g).reshape(-1)
    none = np.zeros(1, dtype)
    dx = dw = None
    wi = dxf = none
    if need_input:
        wi = _input_weights(w, cc).reshape(-1)
        dx = np.empty((n_img, c_in, h, w_in), dtype=dtype)
        dxf = dx.reshape(-1)
    xf = _padded(x, grid) if need_weight else none
    # dw in chunks of images summed in a fixed order: the same dw whichever thread took which
    # chunk (and at any thread count), where one partial sum per thread was not reproducible
    chunks = min(n_img, _DW_CHUNKS) if need_weight else 0
    partial = np.empty((max(chunks, 1), c_in, kh, kw, kp), dtype=dtype)
    passes = int(need_input) + int(need_weight)

    def run(counters, slot):
        frame = buffer("smallconv.gframe", k_out * gh * gw, dtype) if need_input else none
        gt = buffer("smallconv.gt", ho * wo * kp, dtype) if need_weight else none
        fn(gf, wi, xf, counters, n_img, _limit(n_img, slot), chunks, _limit(chunks, slot),
           k_out, ho, wo, c_in, h, w_in, pt, pl, gh, gw, grid.hp, grid.wp, frame, dxf, gt,
           partial.reshape(-1), int(need_input), 0, int(need_weight), passes - 1)

    if passes:
        share_items(n_img, run, passes)
    if need_weight:
        dwt = partial.sum(axis=0) if chunks else np.zeros(partial.shape[1:], dtype=dtype)
        dw = np.ascontiguousarray(dwt[..., :k_out].transpose(3, 0, 1, 2))
    return dx, dw


def backward_input(g, w, in_size, padding):
    """dL/dx (stride 1).  g (N, K, Ho, Wo), w (K, C, KH, KW) -> dx (N, C, H, W)."""
    x = np.empty((g.shape[0], w.shape[1]) + tuple(in_size), dtype=g.dtype)   # its shape only
    return backward(x, w, g, padding, need_weight=False)[0]


def backward_weight(x, g, kernel_size, padding):
    """dL/dw (stride 1).  x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, C, KH, KW)."""
    w = np.empty((g.shape[1], x.shape[1]) + tuple(kernel_size), dtype=x.dtype)  # its shape only
    return backward(x, w, g, padding, need_input=False)[1]
