"""Batched augmentation kernels: an affine warp of a whole batch, one matrix per image.

A plain function over a C-contiguous (N, C, H, W) array (float32 or float64), the inverse maps
(N, 2, 3) float64 and a float fill; it returns a new array. It trusts its arguments:
``autograd_cnn/backend.py`` validates them.

Sampling is ``image_ops.warp_affine``'s, image by image: output pixel (i, j) of image n reads the
source point (sx, sy) = inv[n] @ (j, i, 1) bilinearly, and a neighbour outside the image counts
as ``fill``. The arithmetic is float64 (image_ops rounds the weights to the image's dtype first), so
float64 results are the per-image warp's to the last bit and float32 ones to rounding.

The loop runs over a range [n0, n1) of images, and ``threads.over_planes`` splits big batches
over one thread per core; it releases the GIL, so a loader thread can warp the next batch while
the training thread runs.
"""

import numpy as np
from numba import njit

from . import reference
from .threads import over_planes

# Work units per output element for ``over_planes`` (its threshold, tuning
# 'planes_parallel_min', counts elements touched): a warped pixel computes its source point and
# reads four taps, 5-10 ns here against about 0.5 ns for a pooled element. Measured on the 2-core
# AMD EPYC, 2026-12-04, float32 1-channel 32x32 images, one thread / split over two, two runs:
# batch 16 160-162 / 223-252 us, batch 32 311-313 / 288-360 us, batch 64 403-626 / 364-495 us.
# With 8 a batch splits from 64 such images (524 K units); the main job's batches of 32 stay in
# the calling thread.
WARP_COST = 8


def warp_affine_batch(x, inv, fill):
    """out[n, c] = x[n, c] warped by the inverse affine map inv[n] (2x3: output pixel -> source
    point), bilinear, ``fill`` outside. (N, C, H, W), (N, 2, 3) -> (N, C, H, W)."""
    out = np.empty_like(x)
    over_planes(_warp_affine_batch, x.shape[0], WARP_COST * x.size, x, inv, fill, out)
    return out


@njit(cache=True, nogil=True)
def _warp_affine_batch(x, inv, fill, out, n0, n1):
    """Images [n0, n1): the source point of each output pixel once, then every channel. Points
    whose four taps lie inside the image (most of them) skip the border tests."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    for n in range(n0, n1):
        a, b, c = inv[n, 0, 0], inv[n, 0, 1], inv[n, 0, 2]
        d, e, f = inv[n, 1, 0], inv[n, 1, 1], inv[n, 1, 2]
        for i in range(H):
            for j in range(W):
                sx = a * j + b * i + c
                sy = d * j + e * i + f
                fx = np.floor(sx)
                fy = np.floor(sy)
                wx = sx - fx
                wy = sy - fy
                # clipped before the int conversion (a far-away point would overflow it), to
                # where both taps still lie outside
                x0 = int(min(max(fx, -2.0), W))
                y0 = int(min(max(fy, -2.0), H))
                if 0 <= x0 and 0 <= y0 and x0 < W - 1 and y0 < H - 1:
                    for ch in range(C):
                        top = x[n, ch, y0, x0] * (1 - wx) + x[n, ch, y0, x0 + 1] * wx
                        bottom = x[n, ch, y0 + 1, x0] * (1 - wx) + x[n, ch, y0 + 1, x0 + 1] * wx
                        out[n, ch, i, j] = top * (1 - wy) + bottom * wy
                    continue
                ok00 = 0 <= y0 < H and 0 <= x0 < W
                ok01 = 0 <= y0 < H and 0 <= x0 + 1 < W
                ok10 = 0 <= y0 + 1 < H and 0 <= x0 < W
                ok11 = 0 <= y0 + 1 < H and 0 <= x0 + 1 < W
                for ch in range(C):
                    v00 = x[n, ch, y0, x0] if ok00 else fill
                    v01 = x[n, ch, y0, x0 + 1] if ok01 else fill
                    v10 = x[n, ch, y0 + 1, x0] if ok10 else fill
                    v11 = x[n, ch, y0 + 1, x0 + 1] if ok11 else fill
                    top = v00 * (1 - wx) + v01 * wx
                    bottom = v10 * (1 - wx) + v11 * wx
                    out[n, ch, i, j] = top * (1 - wy) + bottom * wy


# the numpy twin (backend.get_kernel runs it when AUTOGRAD_CNN_REFERENCE=1)
TWINS = {"warp_affine_batch": reference.warp_affine_batch}
