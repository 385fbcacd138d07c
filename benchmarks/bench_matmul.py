"""Matrix products: the Numba GEMM, BLAS through numpy, the backend's
routed choice, and PyTorch (torch.mm) in the same run; also the sweep that sets the backend's
dispatch rule (``autograd_cnn.backend.matmul_route``).

    python benchmarks/bench_matmul.py          # prints a markdown section

Run with the machine's OpenBLAS settings unset (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``)
so numpy's BLAS uses its AVX-512 kernels, as PyTorch does.
"""

from __future__ import annotations

import numpy as np

from autograd_cnn import backend, tuning
from autograd_cnn.kernels import matmul as K
from timing import interleaved

try:
    import torch
except ImportError:                      # PyTorch is a comparison target only
    torch = None


def products(m, k, n, dtype, seed=0):
    """The three products of a linear layer y = x W^T (x (m, k), W (n, k)), as op(a) op(b)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    g = rng.standard_normal((m, n)).astype(dtype)
    return {"forward x W^T": (x, w, False, True),     # (m, k) (k, n)
            "grad_x g W": (g, w, False, False),       # (m, n) (n, k)
            "grad_W g^T x": (g, x, True, False)}      # (n, m) (m, k)


def _torch_fn(a, b, ta, tb):
    ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
    ta_ = ta_.T if ta else ta_
    tb_ = tb_.T if tb else tb_
    return lambda: torch.mm(ta_, tb_)


def _blas_fn(a, b, ta, tb):
    aa = a.T if ta else a
    bb = b.T if tb else b
    return lambda: np.matmul(aa, bb)


# Pause before each sample of the comparison tables: OpenBLAS's threads keep spinning for
# 50-100 ms after a product on them (measured: a 1024^3 product split over our threads took 24-29
# ms right after, or 50 ms after, a numpy product, 12.5-12.9 ms from 200 ms on), and the 'routed'
# column, split over our threads with one BLAS thread each, follows the 'BLAS (numpy)' one.
PAUSE = 0.25


def compare_table(shapes, dtype):
    lines = ["| shape (m, k, n) | product | numba | BLAS (numpy) | routed | PyTorch | "
             "routed vs PyTorch |",
             "|---|---|---|---|---|---|---|"]
    for m, k, n in shapes:
        for name, (a, b, ta, tb) in products(m, k, n, dtype).items():
            mm, kk = (a.shape[::-1] if ta else a.shape)
            nn = b.shape[0] if tb else b.shape[1]
            flops = 2.0 * mm * kk * nn
            fns = {"numba": lambda: K.gemm(a, b, ta, tb),
                   "blas": _blas_fn(a, b, ta, tb),
                   "routed": lambda: backend.matmul(a, b, ta, tb)}
            if torch is not None:
                fns["torch"] = _torch_fn(a, b, ta, tb)
            t = dict(zip(fns, interleaved(list(fns.values()), repeats=7, pause=PAUSE)))

            def cell(key):
                if key not in t:
                    return "n/a"
                med, low = t[key]
                return f"{med * 1e6:.0f} ({low * 1e6:.0f}) us, {flops / med / 1e9:.0f} GF/s"
            ratio = "n/a"
            if "torch" in t:
                ratio = (f"{t['torch'][0] / t['routed'][0]:.2f}x "
                         f"({t['torch'][1] / t['routed'][1]:.2f}x)")
            route = backend.matmul_route(mm, kk, nn, ta, tb)
            lines.append(f"| ({m}, {k}, {n}) | {name} | {cell('numba')} | {cell('blas')} | "
                         f"{cell('routed')} ({route}) | {cell('torch')} | {ratio} |")
    return lines


def crossover_table(dtype):
    """The forward form x W^T (the only one the Numba kernel does without a copy) over a range
    of sizes: where the Numba kernel beats BLAS, which places the dispatch rule."""
    lines = ["| (m, k, n) | m*k*n | numba | BLAS | BLAS time / numba time, median (min) | route |",
             "|---|---|---|---|---|---|"]
    for m, k, n in [(32, 32, 32), (64, 64, 64), (64, 120, 84), (96, 96, 96), (128, 128, 128),
                    (64, 400, 120), (160, 160, 160), (256, 256, 256), (512, 512, 512)]:
        a, b, ta, tb = products(m, k, n, dtype)["forward x W^T"]
        flops = 2.0 * m * k * n
        tn, tb_ = interleaved([lambda: K.gemm(a, b, ta, tb), _blas_fn(a, b, ta, tb)],
                              repeats=7, pause=PAUSE)
        lines.append(f"| ({m}, {k}, {n}) | {m * k * n} | {flops / tn[0] / 1e9:.0f} GF/s | "
                     f"{flops / tb_[0] / 1e9:.0f} GF/s | {tb_[0] / tn[0]:.2f} "
                     f"({tb_[1] / tn[1]:.2f}) | "
                     f"{backend.matmul_route(m, k, n, ta, tb)} |")
    return lines


def main() -> str:
    """Print this file's markdown section and return it (benchmarks/run.py collects it)."""
    out = []
    work = tuning.get("numba_gemm_work")
    out.append("## Matrix products (`bench_matmul.py`)\n")
    out.append("Median (and minimum) time per call over 7 rounds, the implementations "
               f"interleaved with a pause of {PAUSE * 1e3:.0f} ms before each sample (every "
               "thread pool asleep again: OpenBLAS's spin for 50-100 ms after a product), "
               "and GFLOP/s at the median "
               "(2mkn / time). The three products of a linear "
               "layer y = x W^T with x (m, k) and W (n, k): forward x W^T, grad_x = g W, "
               "grad_W = g^T x. 'routed' is `autograd_cnn.backend.matmul`: "
               + (f"it sends the x W^T form with {work[0]} <= m*k*n <= "
                  f"{work[1]} to the Numba kernel and everything else to BLAS"
                  if work else "every product goes to BLAS (the Numba GEMM "
                  "route is off: see the last paragraph)")
               + "; 'routed vs PyTorch' is "
               "PyTorch's time / ours (> 1: we are faster), from medians (and minima).\n")
    for dtype in (np.float32, np.float64):
        out.append(f"### {np.dtype(dtype).name}: LeNet-5 fc layers (batch 64), a VGG-sized "
                   "fc layer, 1024^3\n")
        shapes = [(64, 400, 120), (64, 120, 84), (64, 84, 10), (256, 1024, 1024),
                  (1024, 1024, 1024)]
        out.append("\n".join(compare_table(shapes, dtype)) + "\n")
        out.append(f"### {np.dtype(dtype).name}: where the Numba kernel wins (forward x W^T)\n")
        out.append("\n".join(crossover_table(dtype)) + "\n")
    out.append("What this shows: the Numba GEMM (64x64 tiles of C, 4x4 blocks of running sums "
               "vectorised along k; products under 4 M multiply-adds in one thread, larger ones "
               "split over both) comes closest to OpenBLAS on the forward x W^T of small linear "
               "layers, which it reads along k with no copy, but even there BLAS was faster on "
               "this machine, and by 2-3x on large products; the other two forms pay for a "
               "transposed copy. So `autograd_cnn.backend` sends every product to BLAS "
               "(tuning `numba_gemm_work` = None); the kernel stays as the readable GEMM, tested against its "
               "twin. Small products are dominated by call overhead (the routed column adds the "
               "backend's checks and its switch of BLAS to one thread, 5-15 us); large ones it "
               "splits over the conv threads, each on one BLAS thread, never on OpenBLAS's own "
               "(their spinning after a call slows the kernels that follow: kernels/matmul.py), "
               "which costs nothing alone but runs at half speed for ~0.1 s after a numpy "
               "product on OpenBLAS's threads in the same process. Each sample is "
               "timed after a pause (benchmarks/timing.py): back to back, the libraries' "
               "spinning thread pools slowed each other by up to 50x.\n")
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
