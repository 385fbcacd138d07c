"""The one module that imports the kernels.

``get_kernel(module, name)`` is the one way to a kernel: it returns ``kernels/<module>.py``'s function,
or, when the environment variable ``AUTOGRAD_CNN_REFERENCE=1`` is set (read at every call, so
tests can switch it), the slow numpy twin that module declares beside it in its ``TWINS`` table.
Thresholds (algorithm choice, serial/parallel cut-offs, chunk sizes) are ``autograd_cnn.tuning``'s.

The checked functions below are for direct callers of the kernels: each checks the arrays it
is given (dtype, number of dims, C-contiguity, matching dtypes, index ranges) with a readable
error, turns sizes into plain Python ints, then calls ``get_kernel``.

Convolution geometry arguments are pairs of ints: ``stride``, ``dilation``, ``padding`` =
(top, left) and ``out_size`` / ``in_size`` = (height, width); see ``kernels/conv.py``.

The ops in ``functional`` validate their user-facing arguments (kernel sizes, paddings, output
sizes, PyTorch's rules) before they get here; the checks below are the last line that keeps a
Numba typing error or a silent out-of-bounds write from ever reaching a user.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys

import numpy as np

from . import tuning
from .args import int_pair
from .kernels import reference as _reference     # plain numpy: cheap to import


# ---- process-wide settings: only by configure(), never at import -----------------------------


def _keep_freed_memory() -> bool:
    """Process-wide, Linux/glibc only: let malloc keep freed memory for the next allocation.

    A training step allocates its activations and gradients (fresh numpy arrays) and frees them
    all by the end of the step. With glibc's default rules, arrays of more than ~128 KB to a few
    MB are mapped from the operating system one by one and the heap is trimmed as soon as a few
    MB are free, so every step maps the same memory back in and touches each new page once (a
    page fault per 4 KB, the kernel zeroing it): a LeNet-5 step (batch 32) took 300-466 faults
    and 0.4-1.1 ms of system time in a 4.1-5.4 ms step, measured here. Blocks under tuning
    'heap_mmap_threshold' (32 MB, glibc's ceiling) then come from the heap, and up to
    'heap_trim_threshold' of free heap is kept (figures in tuning.py); the process's peak memory
    does not grow (ResNet-18's training memory fell from 553 to 524 MB). Skipped if the user
    tuned malloc (MALLOC_*_ variables, GLIBC_TUNABLES: their choice is kept), either setting is
    None, or the C library is not glibc. Returns True when applied."""
    mmap_at, trim_at = tuning.get("heap_mmap_threshold"), tuning.get("heap_trim_threshold")
    user_tuned = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                  "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES")
    if sys.platform != "linux" or mmap_at is None or trim_at is None \
            or any(v in os.environ for v in user_tuned):
        return False
    for name, value in (("heap_mmap_threshold", mmap_at), ("heap_trim_threshold", trim_at)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise ValueError(f"autograd_cnn.tuning: {name} must be None or a number of bytes "
                             f"in [0, 2**31), got {value!r}")
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):      # musl or another C library: leave it alone
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3          # glibc's <malloc.h> constants
    return bool(mallopt(m_mmap_threshold, mmap_at)) and bool(mallopt(m_trim_threshold, trim_at))


MALLOC_TUNED = False        # True once configure() applied the malloc setting


def configure(tune_malloc: bool = True) -> dict:
    """Apply the process-wide settings the library's speed figures assume, explicitly: Numba's
    threading layer (also chosen before the first kernel loads, if this was not called) and,
    with ``tune_malloc``, glibc's malloc keeping freed memory (``_keep_freed_memory``). The
    command line and ``Trainer`` call it; importing the package changes nothing in the host
    process. Safe to call more than once. Returns what is in effect."""
    global MALLOC_TUNED
    _threads.choose_threading_layer()     # kernels/threads.py, which every kernel module imports
    if tune_malloc and not MALLOC_TUNED:
        MALLOC_TUNED = _keep_freed_memory()
    return {"threading_layer": os.environ.get("NUMBA_THREADING_LAYER", "workqueue"),
            "malloc_tuned": MALLOC_TUNED}


class _KernelModule:
    """A kernel module (``autograd_cnn.kernels.<name>``) imported on first use, so that
    ``import autograd_cnn`` loads no Numba (the first one chooses the threading layer)."""

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        module = self.__dict__["_module"]
        if module is None:
            module = importlib.import_module(f"{__package__}.kernels.{self._name}")
            self.__dict__["_module"] = module
        return getattr(module, attr)      # not cached: a test's monkeypatch must be seen


_MODULES: dict = {}


def _module(name: str) -> _KernelModule:
    module = _MODULES.get(name)
    if module is None:
        module = _MODULES.setdefault(name, _KernelModule(name))
    return module


_threads = _module("threads")

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def use_one_thread() -> None:
    """Run the kernels of this process on one thread (Numba and BLAS): DataLoader workers.
    Loads no Numba that is not loaded yet (a worker whose dataset never calls a kernel stays
    light): Numba reads NUMBA_NUM_THREADS when it loads."""
    if "numba" in sys.modules:
        _threads.use_one_thread()
        return
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, user_api="blas")
    except Exception:           # no threadpoolctl, or an unknown BLAS: leave its threads alone
        pass


def use_reference() -> bool:
    """True when AUTOGRAD_CNN_REFERENCE=1: the slow numpy twins run instead of the kernels.
    Read at every call (a test or a user may set it at any time) from os.environ's own mapping:
    ``os.environ.get`` encodes the key on every call, 0.75 us against 0.05 here, and this runs
    once per kernel call, several times per op."""
    env = os.environ
    if env is _ENVIRON:
        return _ENV_DATA.get(_REFERENCE_KEY) == _REFERENCE_ON
    return env.get("AUTOGRAD_CNN_REFERENCE") == "1"       # os.environ replaced by a mapping


try:    # CPython's os._Environ: a dict of encoded keys and values behind the mapping
    _ENVIRON, _ENV_DATA = os.environ, os.environ._data
    _REFERENCE_KEY = os.environ.encodekey("AUTOGRAD_CNN_REFERENCE")
    _REFERENCE_ON = os.environ.encodevalue("1")
except AttributeError:          # another implementation: always the public lookup
    _ENVIRON = None


def get_kernel(module: str, name: str):
    """The function that runs kernel ``name`` of ``kernels/<module>.py``: the kernel itself, or,
    when ``use_reference()`` (the one switch, read once per call), the numpy twin that the
    module declares beside it in its ``TWINS`` table. A new kernel module needs no entry here:
    it is loaded on first use."""
    mod = _LOADED.get(module)
    if mod is None:
        mod = _LOADED[module] = importlib.import_module(f"{__package__}.kernels.{module}")
    if use_reference():
        return mod.TWINS[name]
    return getattr(mod, name)


# the kernel modules get_kernel has imported (a plain dict read per call: ~1 us saved per op
# against going through _KernelModule)
_LOADED: dict = {}


def check_array(a, where: str, name: str, ndim: int | None = None, floating: bool = True,
                dtype=None) -> np.ndarray:
    """``a`` itself after checking that it is a C-contiguous ndarray of a float dtype (or of
    ``dtype``) with ``ndim`` dims; TypeError/ValueError naming ``where`` and ``name`` if not."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{where}: {name} must be a numpy array, got {type(a).__name__}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{where}: {name} must be {np.dtype(dtype)}, got {a.dtype}")
    if floating and a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{where}: {name} must be float32 or float64, got {a.dtype} "
                        "(convert with .float() or .double())")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{where}: {name} must have {ndim} dims, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{where}: {name} must be C-contiguous (pass np.ascontiguousarray(...))")
    return a


def check_same_dtype(where: str, **arrays) -> None:
    (n0, a0), *rest = arrays.items()
    for n, a in rest:
        if a.dtype != a0.dtype:
            raise TypeError(f"{where}: {n0} is {a0.dtype} but {n} is {a.dtype}; "
                            "convert one so both have the same dtype")


def _ints(where: str, *values) -> tuple:
    """Sizes as Python ints (numpy integers accepted); a non-integer is a bug upstream."""
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{where}: expected an integer size, got {v!r} ({type(v).__name__})")
        out.append(int(v))
    return tuple(out)


def _positive(where: str, what: str, *values) -> None:
    if min(values) < 1:
        raise ValueError(f"{where}: {what} must be positive, got {values}")


# ==== pooling, upsampling and matmul ==========================================================


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, with_indices: bool):
    """(N, C, H, W) -> (values, indices), both (N, C, Ho, Wo); indices int64 flat h*W + w
    (an empty array when ``with_indices`` is False). Sizes are (h, w) pairs."""
    where = "max_pool2d"
    check_array(x, where, "input", 4)
    kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo = _ints(where, *kernel, *stride, *padding,
                                                   *dilation, *out_hw)
    _positive(where, "kernel, stride, dilation and output sizes", kh, kw, sh, sw, dh, dw, Ho, Wo)
    return get_kernel("pool", "max_pool2d_forward")(x, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo,
                                                bool(with_indices))


def _check_indices(indices, g_or_x, where: str, size: int, what: str):
    check_array(indices, where, "indices", 4, floating=False, dtype=np.int64)
    if indices.shape != g_or_x.shape:
        raise ValueError(f"{where}: indices have shape {indices.shape} but {what} has shape "
                         f"{g_or_x.shape}; they must match")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise ValueError(f"{where}: found an invalid index {int(bad)}: indices must lie in "
                         f"[0, {size}) (flat h*W + w positions in a plane of {size} elements)")


def max_pool2d_backward(g, indices, in_hw):
    """dL/dx (N, C, H, W) from g (N, C, Ho, Wo) and the forward's switches."""
    where = "max_pool2d backward"
    check_array(g, where, "grad_output", 4)
    H, W = _ints(where, *in_hw)
    _check_indices(indices, g, where, H * W, "grad_output")
    return get_kernel("pool", "max_pool2d_backward")(g, indices, H, W)


def avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad: bool,
               divisor_override: int):
    """(N, C, H, W) -> (N, C, Ho, Wo); ``divisor_override`` 0 means none."""
    where = "avg_pool2d"
    check_array(x, where, "input", 4)
    kh, kw, sh, sw, ph, pw, Ho, Wo, div = _ints(where, *kernel, *stride, *padding, *out_hw,
                                               divisor_override)
    _positive(where, "kernel, stride and output sizes", kh, kw, sh, sw, Ho, Wo)
    return get_kernel("pool", "avg_pool2d_forward")(x, kh, kw, sh, sw, ph, pw, Ho, Wo,
                                                bool(count_include_pad), div)


def avg_pool2d_backward(g, in_hw, kernel, stride, padding, count_include_pad: bool,
                        divisor_override: int):
    where = "avg_pool2d backward"
    check_array(g, where, "grad_output", 4)
    H, W, kh, kw, sh, sw, ph, pw, div = _ints(where, *in_hw, *kernel, *stride, *padding,
                                             divisor_override)
    _positive(where, "input sizes, kernel and stride", H, W, kh, kw, sh, sw)
    return get_kernel("pool", "avg_pool2d_backward")(g, H, W, kh, kw, sh, sw, ph, pw,
                                                 bool(count_include_pad), div)


def adaptive_avg_pool2d(x, out_hw):
    where = "adaptive_avg_pool2d"
    check_array(x, where, "input", 4)
    Ho, Wo = _ints(where, *out_hw)
    _positive(where, "output sizes", Ho, Wo)
    return get_kernel("pool", "adaptive_avg_pool2d_forward")(x, Ho, Wo)


def adaptive_avg_pool2d_backward(g, in_hw):
    where = "adaptive_avg_pool2d backward"
    check_array(g, where, "grad_output", 4)
    H, W = _ints(where, *in_hw)
    _positive(where, "input sizes", H, W)
    return get_kernel("pool", "adaptive_avg_pool2d_backward")(g, H, W)


def adaptive_max_pool2d(x, out_hw):
    """(N, C, H, W) -> (values, int64 indices); backward is ``max_pool2d_backward``."""
    where = "adaptive_max_pool2d"
    check_array(x, where, "input", 4)
    Ho, Wo = _ints(where, *out_hw)
    _positive(where, "output sizes", Ho, Wo)
    return get_kernel("pool", "adaptive_max_pool2d_forward")(x, Ho, Wo)


def max_unpool2d(x, indices, out_hw):
    """(N, C, H, W) values and switches -> (N, C, Ho, Wo), zeros elsewhere."""
    where = "max_unpool2d"
    check_array(x, where, "input", 4)
    Ho, Wo = _ints(where, *out_hw)
    _positive(where, "output sizes", Ho, Wo)
    _check_indices(indices, x, where, Ho * Wo, "input")
    return get_kernel("pool", "max_unpool2d_forward")(x, indices, Ho, Wo)


def max_unpool2d_backward(g, indices):
    where = "max_unpool2d backward"
    check_array(g, where, "grad_output", 4)
    check_array(indices, where, "indices", 4, floating=False, dtype=np.int64)
    if indices.shape[:2] != g.shape[:2]:
        raise ValueError(f"{where}: indices shape {indices.shape} and grad_output shape "
                         f"{g.shape} differ in (N, C)")
    _check_indices(indices, indices, where, g.shape[2] * g.shape[3], "indices")
    return get_kernel("pool", "max_unpool2d_backward")(g, indices)


# ---- augmentation ------------------------------------------------------------------------------


def warp_affine_batch(x, inv, fill: float):
    """(N, C, H, W) warped image by image by the inverse affine maps ``inv`` (N, 2, 3) float64
    (output pixel (j, i) -> source point), bilinear, ``fill`` outside (kernels/augment.py)."""
    where = "warp_affine_batch"
    check_array(x, where, "images", 4)
    check_array(inv, where, "inverse maps", 3, dtype=np.float64)
    if inv.shape != (x.shape[0], 2, 3):
        raise ValueError(f"{where}: inverse maps must have shape ({x.shape[0]}, 2, 3) for a batch "
                         f"of {x.shape[0]} images, got {inv.shape}")
    if not np.isfinite(inv).all():
        raise ValueError(f"{where}: inverse maps must be finite (a singular affine matrix, e.g. "
                         "scale 0, has no inverse)")
    fill = float(fill)
    if not np.isfinite(fill):
        raise ValueError(f"{where}: fill must be a finite number, got {fill}")
    return get_kernel("augment", "warp_affine_batch")(x, inv, fill)


# ---- interpolation: source rows/columns and weights (PyTorch's formulas) ----------------------


def _source_scale(in_size: int, out_size: int, scale, dtype):
    """Source pixels per output pixel: 1/scale_factor when one was given, else in/out."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(in_size) / dtype.type(out_size)


def nearest_indices(in_size: int, out_size: int, scale=None) -> np.ndarray:
    """src = min(floor(dst * s), in - 1), computed in float32 exactly as PyTorch does."""
    dst = np.arange(out_size)
    if out_size == in_size:
        return dst
    if out_size == 2 * in_size:
        return dst // 2
    s = _source_scale(in_size, out_size, scale, np.dtype(np.float32))
    src = np.floor(dst.astype(np.float32) * s).astype(np.int64)
    return np.minimum(src, in_size - 1)


def linear_weights(in_size: int, out_size: int, align_corners: bool, scale, dtype):
    """(i0, i1, l0, l1): output o reads l0[o] * x[i0[o]] + l1[o] * x[i1[o]].
    Source coordinate: o * (in-1)/(out-1) with align_corners, else (o + 0.5) / s - 0.5 clamped
    at 0, where s = scale_factor or out/in."""
    dtype = np.dtype(dtype)
    dst = np.arange(out_size)
    if out_size == in_size:
        return dst, dst.copy(), np.ones(out_size, dtype), np.zeros(out_size, dtype)
    if align_corners:
        ratio = dtype.type((in_size - 1) / (out_size - 1)) if out_size > 1 else dtype.type(0)
        src = ratio * dst.astype(dtype)
    else:
        ratio = _source_scale(in_size, out_size, scale, dtype)
        src = np.maximum(ratio * (dst.astype(dtype) + dtype.type(0.5)) - dtype.type(0.5),
                         dtype.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    l1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = i0 + (i0 < in_size - 1)
    return i0, i1, (dtype.type(1) - l1).astype(dtype), l1


def interpolate_nearest(x, out_hw, scales):
    where = "interpolate(nearest)"
    check_array(x, where, "input", 4)
    Ho, Wo = _ints(where, *out_hw)
    _positive(where, "output sizes", Ho, Wo)
    hi = nearest_indices(x.shape[2], Ho, scales[0])
    wi = nearest_indices(x.shape[3], Wo, scales[1])
    return get_kernel("upsample", "nearest_forward")(x, hi, wi)


def interpolate_nearest_backward(g, in_hw, scales):
    where = "interpolate(nearest) backward"
    check_array(g, where, "grad_output", 4)
    H, W = _ints(where, *in_hw)
    hi = nearest_indices(H, g.shape[2], scales[0])
    wi = nearest_indices(W, g.shape[3], scales[1])
    return get_kernel("upsample", "nearest_backward")(g, hi, wi, H, W)


def interpolate_bilinear(x, out_hw, align_corners: bool, scales):
    where = "interpolate(bilinear)"
    check_array(x, where, "input", 4)
    Ho, Wo = _ints(where, *out_hw)
    _positive(where, "output sizes", Ho, Wo)
    hw = linear_weights(x.shape[2], Ho, align_corners, scales[0], x.dtype)
    ww = linear_weights(x.shape[3], Wo, align_corners, scales[1], x.dtype)
    return get_kernel("upsample", "bilinear_forward")(x, *hw, *ww)


def interpolate_bilinear_backward(g, in_hw, align_corners: bool, scales):
    where = "interpolate(bilinear) backward"
    check_array(g, where, "grad_output", 4)
    H, W = _ints(where, *in_hw)
    hw = linear_weights(H, g.shape[2], align_corners, scales[0], g.dtype)
    ww = linear_weights(W, g.shape[3], align_corners, scales[1], g.dtype)
    return get_kernel("upsample", "bilinear_backward")(g, *hw, *ww, H, W)


# ---- matrix products --------------------------------------------------------------------------

# Dispatch (tuning 'numba_gemm_work' and 'serial_blas_work', measured by bench_matmul.py): every
# product goes to BLAS unless 'numba_gemm_work' = (lo, hi) sends the x W^T products with
# lo <= m*k*n <= hi to the Numba GEMM (kept, tested against its twin, as the readable GEMM and the
# measured alternative); products under 'serial_blas_work' run on one BLAS thread, larger ones are
# split over the conv threads with one BLAS thread each (kernels/matmul.py blas_gemm).


def matmul_route(m: int, k: int, n: int, transpose_a: bool = False,
                 transpose_b: bool = False) -> str:
    """Which implementation op(a) (m, k) @ op(b) (k, n) runs on: 'numba' or 'blas'."""
    work = tuning.get("numba_gemm_work")
    if work is not None and transpose_b and not transpose_a and work[0] <= m * k * n <= work[1]:
        return "numba"
    return "blas"


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    """op(a) @ op(b) for 2-D arrays of one float dtype; op transposes when its flag is set, so
    the two backward products of C = A B are matmul(g, b, transpose_b=True) and
    matmul(a, g, transpose_a=True) without copying a transpose first."""
    where = "matmul"
    for name, arr in (("a", a), ("b", b)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            raise ValueError(f"{where}: {name} must be a 2-D array, got "
                             f"{getattr(arr, 'shape', type(arr).__name__)}")
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    check_array(a, where, "a", 2)
    check_array(b, where, "b", 2)
    check_same_dtype(where, a=a, b=b)
    m, k = a.shape[::-1] if transpose_a else a.shape
    k2, n = b.shape[::-1] if transpose_b else b.shape
    if k != k2:
        raise ValueError(f"{where}: inner sizes differ: op(a) is ({m}, {k}), op(b) is ({k2}, {n})")
    return gemm(a, b, bool(transpose_a), bool(transpose_b))


def gemm(a, b, transpose_a: bool, transpose_b: bool) -> np.ndarray:
    """``matmul`` without its checks, for callers that made them (``functional/linalg.py``):
    a and b 2-D of one float dtype with matching inner sizes."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    m, k = a.shape[::-1] if transpose_a else a.shape
    n = b.shape[0] if transpose_b else b.shape[1]
    name = "gemm" if matmul_route(m, k, n, transpose_a, transpose_b) == "numba" else "blas_gemm"
    return get_kernel("matmul", name)(a, b, transpose_a, transpose_b)


# ==== convolution ==============================================================================


def _array(where: str, name: str, a, ndim: int, dtype=None) -> np.ndarray:
    """check_array, and the same dtype as the call's other operands when ``dtype`` is given."""
    check_array(a, where, name, ndim)
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{where}: {name} is {a.dtype} but the other operands are {dtype}; "
                        "convert them to one dtype")
    return a


def _geometry(where, stride, padding, dilation, groups):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}")
    return dict(stride=int_pair(stride, "stride", where, 1, allow_int=False),
                padding=int_pair(padding, "padding", where, 0, allow_int=False),
                dilation=int_pair(dilation, "dilation", where, 1, allow_int=False),
                groups=int(groups))


def _check_weight(where, w, c_in, groups):
    k_out, cg = w.shape[:2]
    if c_in != cg * groups:
        raise ValueError(f"{where}: input has {c_in} channels but weight expects {cg * groups} "
                         f"(weight shape {w.shape}, groups={groups})")
    if k_out % groups:
        raise ValueError(f"{where}: weight has {k_out} output channels, not divisible by "
                         f"groups={groups}")


def _check_bias(where, bias, k_out, dtype):
    if bias is None:
        return None
    _array(where, "bias", bias, 1, dtype)
    if bias.shape != (k_out,):
        raise ValueError(f"{where}: bias must have shape ({k_out},), got {bias.shape}")
    return bias


def conv2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                   groups=1, out_size):
    """y = x * w + b.  x (N, C, H, W), w (K, C/groups, KH, KW), bias (K,) or None
    -> (N, K, Ho, Wo) with (Ho, Wo) = out_size."""
    where = "conv2d_forward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    _check_weight(where, w, x.shape[1], geom["groups"])
    _check_bias(where, bias, w.shape[0], x.dtype)
    out_size = int_pair(out_size, "out_size", where, 1, allow_int=False)
    return get_kernel("conv", "conv2d_forward")(x, w, bias, out_size=out_size, **geom)


def conv2d_backward(x, w, g, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                    need_input=True, need_weight=True):
    """(dL/dx, dL/dw) of y = x * w given g = dL/dy, each None unless asked for.
    x (N, C, H, W), w (K, C/groups, KH, KW), g (N, K, Ho, Wo)."""
    where = "conv2d_backward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    _array(where, "g", g, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    _check_weight(where, w, x.shape[1], geom["groups"])
    if g.shape[:2] != (x.shape[0], w.shape[0]):
        raise ValueError(f"{where}: g has shape {g.shape}, expected ({x.shape[0]}, "
                         f"{w.shape[0]}, Ho, Wo) for x {x.shape} and w {w.shape}")
    return get_kernel("conv", "conv2d_backward")(x, w, g, need_input=bool(need_input),
                                 need_weight=bool(need_weight), **geom)


def conv2d_backward_input(g, w, *, in_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                          groups=1):
    """dL/dx of y = x * w given g = dL/dy.  g (N, K, Ho, Wo) -> (N, C, H, W), (H, W) = in_size."""
    where = "conv2d_backward_input"
    _array(where, "g", g, 4)
    _array(where, "w", w, 4, g.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    in_size = int_pair(in_size, "in_size", where, 1, allow_int=False)
    if g.shape[1] != w.shape[0] or w.shape[0] % geom["groups"]:
        raise ValueError(f"{where}: g has {g.shape[1]} channels but w has {w.shape[0]} output "
                         f"channels (w shape {w.shape}, groups={geom['groups']})")
    return get_kernel("conv", "conv2d_backward_input")(g, w, in_size=in_size, **geom)


def conv2d_backward_weight(x, g, *, kernel_size, stride=(1, 1), padding=(0, 0),
                           dilation=(1, 1), groups=1):
    """dL/dw of y = x * w given g = dL/dy.  x (N, C, H, W), g (N, K, Ho, Wo) -> (K, C/groups, KH, KW)."""
    where = "conv2d_backward_weight"
    _array(where, "x", x, 4)
    _array(where, "g", g, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    kernel_size = int_pair(kernel_size, "kernel_size", where, 1, allow_int=False)
    grp = geom["groups"]
    if x.shape[0] != g.shape[0] or x.shape[1] % grp or g.shape[1] % grp:
        raise ValueError(f"{where}: x {x.shape} and g {g.shape} need the same batch size and "
                         f"channel counts divisible by groups={grp}")
    return get_kernel("conv", "conv2d_backward_weight")(x, g, kernel_size=kernel_size, **geom)


def conv2d_bias_grad(g):
    """dL/db = g summed over batch and positions.  g (N, K, Ho, Wo) -> (K,)."""
    _array("conv2d_bias_grad", "g", g, 4)
    return get_kernel("conv", "conv2d_bias_grad")(g)


def conv_transpose2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0),
                             dilation=(1, 1), groups=1, out_size):
    """Transposed convolution (the backward-input of a convolution with this geometry).
    x (N, Cin, H, W), w (Cin, Cout/groups, KH, KW), bias (Cout,) or None
    -> (N, Cout, Ho, Wo) with (Ho, Wo) = out_size (output_padding included)."""
    where = "conv_transpose2d_forward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    grp = geom["groups"]
    if x.shape[1] != w.shape[0] or w.shape[0] % grp:
        raise ValueError(f"{where}: input has {x.shape[1]} channels but weight expects "
                         f"{w.shape[0]} (weight shape {w.shape}, groups={grp})")
    _check_bias(where, bias, w.shape[1] * grp, x.dtype)
    out_size = int_pair(out_size, "out_size", where, 1, allow_int=False)
    return get_kernel("conv", "conv_transpose2d_forward")(x, w, bias, out_size=out_size, **geom)


# ==== batch normalisation and optimiser steps =================================================

# Sizes (elements) from which the parallel form of a kernel wins: tuning '<family>_parallel_min'
# (a parallel region costs ~150 us to start; memory-bound passes gain little from a second
# thread). SGD's step is always serial.


def _serial_or_parallel(module: str, name: str, size: int, family: str, *args):
    """kernel(*args): the serial kernel, or from tuning '<family>_parallel_min' elements its
    ``_parallel`` form, which takes the process-wide lock of Numba's thread pool (two threads
    entering it at once abort the process; kernels/threads.py); the twin when use_reference()."""
    if size >= tuning.get(family + "_parallel_min") and not use_reference():
        with _threads.parallel_region():
            return get_kernel(module, name + "_parallel")(*args)
    return get_kernel(module, name)(*args)


# batch norm: x, g (N, C, L); per-channel vectors float64 (C,)


def _bn_vectors(where: str, c: int, **vectors) -> None:
    for name, v in vectors.items():
        check_array(v, where, name, ndim=1, dtype=np.float64)
        if v.shape != (c,):
            raise ValueError(f"{where}: {name} must have shape ({c},), got {v.shape}")


def _bn_pair(where: str, g, x) -> None:
    check_array(x, where, "x", ndim=3)
    check_array(g, where, "g", ndim=3)
    check_same_dtype(where, x=x, g=g)
    if g.shape != x.shape:
        raise ValueError(f"{where}: g has shape {g.shape} but x has {x.shape}")


def batch_norm_stats(x):
    """Per-channel (mean, biased variance) of x (N, C, L), as float64 vectors."""
    check_array(x, "batch_norm_stats", "x", ndim=3)
    return _serial_or_parallel("norm", "bn_stats", x.size, "norm", x)


def batch_norm_apply(x, mean, scale, shift):
    """(x - mean[c]) * scale[c] + shift[c] for x (N, C, L), in x's dtype."""
    check_array(x, "batch_norm_apply", "x", ndim=3)
    _bn_vectors("batch_norm_apply", x.shape[1], mean=mean, scale=scale, shift=shift)
    return _serial_or_parallel("norm", "bn_apply", x.size, "norm", x, mean, scale, shift)


def batch_norm_backward_sums(g, x, mean):
    """Per-channel (sum of g, sum of g (x - mean)) for g, x (N, C, L), as float64 vectors."""
    _bn_pair("batch_norm_backward_sums", g, x)
    _bn_vectors("batch_norm_backward_sums", x.shape[1], mean=mean)
    return _serial_or_parallel("norm", "bn_backward_sums", x.size, "norm", g, x, mean)


def batch_norm_backward_input(g, x, mean, k_g, k_0, k_x):
    """k_g[c] g - k_0[c] - k_x[c] (x - mean[c]) for g, x (N, C, L), in x's dtype."""
    _bn_pair("batch_norm_backward_input", g, x)
    _bn_vectors("batch_norm_backward_input", x.shape[1], mean=mean, k_g=k_g, k_0=k_0, k_x=k_x)
    return _serial_or_parallel("norm", "bn_backward_input", x.size, "norm",
                               g, x, mean, k_g, k_0, k_x)


# fused optimiser steps: in place on a parameter and its state


def _optim_arrays(where: str, p, g, *state):
    """Flat views for the kernel when every array that is written is C-contiguous (the usual
    case); None when one is not (then the numpy twin updates the arrays as they are)."""
    if not isinstance(p, np.ndarray) or p.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{where}: the parameter must be a float32 or float64 array, got "
                        f"{getattr(p, 'dtype', type(p).__name__)}")
    if not isinstance(g, np.ndarray) or g.shape != p.shape:
        raise ValueError(f"{where}: the gradient has shape {getattr(g, 'shape', None)} but the "
                         f"parameter has {p.shape}")
    for i, s in enumerate(state):
        if s is not None and (not isinstance(s, np.ndarray) or s.shape != p.shape
                              or s.dtype != p.dtype):
            raise ValueError(f"{where}: state array {i} does not match the parameter "
                             f"({p.shape}, {p.dtype})")
    written = (p,) + tuple(s for s in state if s is not None)
    if not all(a.flags.c_contiguous and a.flags.writeable for a in written):
        return None
    empty = np.empty(0, p.dtype)
    flat_g = np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)
    return (p.reshape(-1), flat_g) + tuple(empty if s is None else s.reshape(-1) for s in state)


def sgd_step(p, g, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """One SGD step in place on parameter p (any shape) and momentum buffer buf (None when
    momentum is 0) with gradient g."""
    args = (float(lr), float(momentum), float(dampening), float(weight_decay), bool(nesterov),
            bool(maximize), bool(first))
    flat = _optim_arrays("sgd_step", p, g, buf)
    if flat is None:                    # an array the kernel cannot write through: numpy's twin
        return _reference.sgd_step(p, g, buf, *args)
    get_kernel("optim", "sgd_step")(*flat, *args)


def adam_step(p, g, m, v, vmax, *, lr, betas, eps, weight_decay, decoupled, amsgrad, maximize,
              step):
    """One Adam (decoupled=False) or AdamW step in place on p, m, v (and vmax if amsgrad)."""
    args = (float(lr), float(betas[0]), float(betas[1]), float(eps), float(weight_decay),
            bool(decoupled), bool(amsgrad), bool(maximize), int(step))
    flat = _optim_arrays("adam_step", p, g, m, v, vmax)
    if flat is None:                    # an array the kernel cannot write through: numpy's twin
        return _reference.adam_step(p, g, m, v, vmax, *args)
    _serial_or_parallel("optim", "adam_step", p.size, "adam", *flat, *args)
