"""Every machine-specific threshold of the kernels, in one table, with where it came from.

The kernels choose between algorithms and between serial and parallel forms by sizes that were
measured, on one machine, by the benchmarks in ``benchmarks/`` (figures in
``benchmarks/RESULTS.md``). Those sizes are not laws: the processor under this library changes
(AVX-512 or not, AMD or Intel, cache sizes), so each lives here once, says what was measured on
what, and can be overridden without editing code:

    ac.tuning.get("im2col_chunk_bytes")              -> 8388608
    with ac.tuning.override(serial_blas_work=0):     # every product on BLAS's threads
        ...
    AUTOGRAD_CNN_TUNING="im2col_chunk_bytes=4194304,adam_parallel_min=0" python train.py

``ac.tuning.table()`` lists every setting in effect (benchmarks write it into their records).
Reading a value is one dict lookup; kernels read it at each call, so an override takes effect at
once (a value compiled into a Numba kernel would not: none is).

This module imports nothing heavy: the kernels and the backend read it, and so may a user.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Setting", "SETTINGS", "get", "set", "override", "reset", "table"]


@dataclass(frozen=True)
class Setting:
    """One tuned threshold: its default ``value``, the ``unit`` it counts and what it was
    ``measured`` on (machine, shapes, figures), so a reader can judge whether it applies."""
    value: object
    unit: str
    measured: str


_EPYC = "2-core AMD EPYC (Zen 5, AVX-512), 2026-11"
_XEON = "2-core Intel Xeon, 2026-11-25"

SETTINGS: dict[str, Setting] = {
    # ---- matrix products (autograd_cnn/backend.py matmul) ----
    "serial_blas_work": Setting(
        3_500_000, "multiply-adds m*k*n",
        f"{_EPYC}: one thread as fast as two up to LeNet-5's fc1 (64x400x120: 54 vs "
        "50-58 us); two pay from ResNet's head (8x512x1000: 160 vs 320 us). Larger products are "
        "split over the conv threads, never OpenBLAS's own (their spinning after a call halved "
        "the speed of the kernels that followed; kernels/matmul.py); and with one core busy "
        "OpenBLAS's second thread turned a 60 us product into 3 ms"),
    "numba_gemm_work": Setting(
        None, "(lo, hi) multiply-adds, or None",
        f"{_XEON}, bench_matmul: OpenBLAS beat the Numba GEMM at every size timed after a pause "
        "(53 vs 65 us on LeNet-5's fc1), so no product goes to Numba; (lo, hi) sends the x W^T "
        "products with lo <= m*k*n <= hi there"),
    "numba_gemm_parallel_min": Setting(
        1 << 22, "multiply-adds",
        f"{_EPYC}: the Numba GEMM's 64x64 tiles split over threads from 4 M multiply-adds; "
        "below, waking the second thread costs more than it saves"),
    # ---- convolution algorithm choice (kernels/conv.py choose_algorithm) ----
    "conv_direct_max_k_per_group": Setting(
        2, "output channels per group",
        f"{_EPYC}: with <= 2 output channels per group (depthwise) the per-group GEMM is a "
        "sliver; the direct loops win"),
    "conv_direct_max_rows": Setting(
        32, "input taps C/G*KH*KW (stride 1)",
        f"{_EPYC}: LeNet-5 C1 (1 channel, 5x5 = 25 taps): direct 3.0 ms vs im2col 3.7-4.5 ms "
        "fwd+bwd, batch 64; with <= conv_smallconv_max_k output channels smallconv instead "
        "(2026-12-04, load < 0.2, 2 threads, fwd+bwd over direct: (N, C, H, K, k, pad) = "
        "(64,1,32,6,5,0) 2.45x, (16,1,28,4,5,2) 2.10x, (32,3,32,16,3,1) 2.13x, "
        "(8,3,224,8,3,1) 3.36x, (64,2,16,16,3,1) 3.36x, (8,1,96,12,5,2) 2.79x)"),
    "conv_winograd_min_channels": Setting(
        16, "input and output channels per group",
        f"{_XEON}, bench_conv: Winograd F(2x2,3x3) 0.94-1.00x PyTorch on 64-256 channels; on "
        "fewer channels its transforms (memory-bound, 4x the input) dominate"),
    "conv_smallconv_max_k": Setting(
        16, "output channels (stride 1, one group, small images)",
        f"{_EPYC}, 2026-12-03, LeNet-5 C3 (64x6x14x14 -> 16, 5x5) through F.conv2d, load < 1, "
        "medians: smallconv forward 0.72 / 0.64 ms (2 / 1 threads) vs shifted 1.55 / 1.31, "
        "fwd+bwd 3.28 / 3.00 vs 5.86 / 4.92; 16 channels x 5 pixels is the register block, "
        "more channels would need smaller pixel blocks (not measured)"),
    "im2col_wide_max_pixels": Setting(
        256, "output pixels per image",
        f"{_EPYC}: below 256 output pixels a per-image GEMM is dominated by call overhead; one "
        "GEMM per chunk of images ('wide' layout) wins"),
    "im2col_wide_max_macs": Setting(
        1 << 21, "multiply-adds per image and group",
        f"{_EPYC}: the same rule by work: per-image GEMMs under 2 M multiply-adds go wide"),
    # ---- chunk sizes (bytes per thread of scratch that must stay in cache) ----
    "im2col_chunk_bytes": Setting(
        8 << 20, "bytes per thread",
        f"{_EPYC}: a few hundred GEMM columns per image batch while staying in the outer caches"),
    "shifted_chunk_bytes": Setting(
        1 << 20, "bytes per thread",
        f"{_EPYC}, LeNet-5 C3 (64x6x14x14, one thread): forward 1.21 ms with 8 MB chunks, "
        "0.78 ms with 1 MB, 0.83 ms with 256 KB (2 MB L2)"),
    "winograd_chunk_bytes": Setting(
        2 << 20, "bytes per thread",
        f"{_EPYC}: best of 1-16 MB for the transformed-input chunk V (16, C, P)"),
    # ---- glibc's malloc, set by ac.configure() (backend._keep_freed_memory) ----
    "heap_mmap_threshold": Setting(
        32 << 20, "bytes (None: glibc's own rules)",
        "2-core AMD EPYC, 2026-12-04, load < 0.2: blocks below it come from the heap, not a "
        "fresh mmap; with the trim threshold below a LeNet-5 step (batch 32) went from 300-466 "
        "page faults and 4.1-5.4 ms to 0.1 faults and 3.2-3.7 ms, ResNet-18 (batch 8) from "
        "679-695 to 568-611 ms and 553 to 524 MB of training memory; 32 MB is glibc's ceiling"),
    "heap_trim_threshold": Setting(
        256 << 20, "bytes of free heap kept (None: glibc's own rules)",
        "the same machine and day, against 64 MB: ResNet-18 568-588 vs 637-688 ms per step, "
        "the main job (make demo) 5.23-5.49 vs 5.30-6.06 s of training"),
    # ---- serial / parallel cut-offs of memory-bound kernels ----
    "planes_parallel_min": Setting(
        1 << 19, "elements touched (input + output)",
        f"{_EPYC}, 2x2/2 pooling float32, one thread / two: avg forward of 376 K elements "
        "177 / 198 us, of 752 K 360 / 309 us, of 2 M 986 / 658 us"),
    "norm_parallel_min": Setting(
        1 << 23, "elements",
        f"{_EPYC}: a workqueue parallel region costs ~150 us to start and batch norm's passes "
        "are memory-bound: a second thread pays only from 8 M elements"),
    "elementwise_kernel_min": Setting(
        4096, "elements",
        "2-core AMD EPYC, load 0.3, 2026-12-03, float32, us per call, the Numba loop (with "
        "backend.get_kernel) / numpy: relu of 1 element 2.24 / 1.10, 1 K 1.79 / 1.09, 4 K "
        "2.13 / 2.55, 16 K 3.50 / 8.25, 64 K 8.15 / 27.7; tanh's backward 1 K 2.08 / 1.79, "
        "4 K 2.70 / 3.26: below ~4 K elements numpy's ufunc call is the cheaper one"),
    "elementwise_parallel_min": Setting(
        1 << 23, "elements touched (inputs + output)",
        "PROVISIONAL, 2-core AMD EPYC under load 5-6 (other tenants), 2026-12, float32 "
        "(kernels/elementwise.py, norm.py's fused batch norm + ReLU), us one thread / split "
        "over two: relu of 0.1 M 43 / 274, 1.6 M 844 / 1567, 6.4 M 11242 / 6570; bn+relu input "
        "gradient 1.6 M 1487 / 4432, 6.4 M 16947 / 15991 (numpy's relu, for scale: 101, 868, "
        "7818). With the other core busy a second thread rarely pays, so only ResNet's stem "
        "(8x64x112x112) splits; measure again on a quiet machine"),
    "sgd_parallel_min": Setting(
        1 << 20, "parameters",
        "PROVISIONAL, 2-core AMD EPYC under load 5-6, 2026-12, SGD with momentum float32, one "
        "thread / split over the shared threads: 262 K 2.5 / 3.5 ms, 1 M 8.5 / 6.4 ms, 2.4 M "
        "20.9 / 19.0 ms (an earlier prange form measured slower at every size)"),
    "adam_parallel_min": Setting(
        1 << 20, "parameters",
        f"{_EPYC}: Adam's fused step (several reads and writes per parameter) pays a second "
        "thread from 1 M parameters"),
}

_lock = threading.Lock()
_overrides: dict = {}


def _check_name(name: str) -> None:
    if name not in SETTINGS:
        raise KeyError(f"autograd_cnn.tuning: no setting {name!r}; the settings are: "
                       f"{', '.join(SETTINGS)}")


def get(name: str):
    """The value in effect for ``name``: an override if one is set, else the default."""
    try:
        return _overrides[name]
    except KeyError:
        pass
    try:
        return SETTINGS[name].value
    except KeyError:
        _check_name(name)
        raise


def set(**values) -> dict:
    """Override settings process-wide (``None`` is a value, not a reset: see ``reset``); returns
    the values they replace, for restoring."""
    for name in values:
        _check_name(name)
    with _lock:
        previous = {name: get(name) for name in values}
        _overrides.update(values)
    return previous


def reset(*names: str) -> None:
    """Back to the defaults: the given settings, or all of them."""
    with _lock:
        for name in names or list(_overrides):
            _check_name(name)
            _overrides.pop(name, None)


@contextmanager
def override(**values):
    """``with tuning.override(name=value): ...`` sets the values for the block, then restores."""
    previous = set(**values)
    try:
        yield
    finally:
        with _lock:
            _overrides.update(previous)


def table() -> list[dict]:
    """One row per setting: name, value in effect, default, unit, what it was measured on."""
    return [{"name": n, "value": get(n), "default": s.value, "unit": s.unit,
             "measured": s.measured} for n, s in SETTINGS.items()]


_ITEM = re.compile(r"\s*(\w+)\s*=\s*(\([^)]*\)|[^,;\s]+)\s*[,;]?")


def _parse(name: str, text: str):
    if text == "None":
        return None
    try:
        if text.startswith("("):
            return tuple(int(v, 0) for v in text.strip("()").split(","))
        return int(text, 0)
    except ValueError:
        raise ValueError(f"AUTOGRAD_CNN_TUNING: {name}={text} is not an integer, a pair "
                         "(lo,hi) or None") from None


def _from_environment(spec: str) -> dict:
    """AUTOGRAD_CNN_TUNING='name=value,name=(lo,hi),name=None' -> {name: value}."""
    values, pos = {}, 0
    spec = spec.strip()
    while pos < len(spec):
        match = _ITEM.match(spec, pos)
        if not match:
            raise ValueError(f"AUTOGRAD_CNN_TUNING: expected name=value at {spec[pos:]!r}")
        name, text = match.groups()
        _check_name(name)
        values[name] = _parse(name, text)
        pos = match.end()
    return values


if os.environ.get("AUTOGRAD_CNN_TUNING"):
    _overrides.update(_from_environment(os.environ["AUTOGRAD_CNN_TUNING"]))
