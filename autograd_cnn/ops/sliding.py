"""The sliding window as a convolution (OverFeat; the lecture's "turn the FC layers into
convolutions"): a classifier trained on h x w crops, whose fully-connected layers are rewritten
as convolutions (the first as an h' x w' convolution over its input feature map, the others as
1x1), runs on a larger image in one pass and gives the score of every window at once, sharing
the computations that neighbouring windows have in common. The window stride is the product of
the strides in the network.

    fc_to_conv(linear, in_channels, kernel_size)     one Linear -> the equivalent Conv2d
    convolutionalize(model, input_size)              a Sequential classifier -> fully conv
    sliding_window_scores(model, images, window, stride)   the naive crop-and-classify loop
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..engine import no_grad
from ..tensor import Tensor, zeros

__all__ = ["fc_to_conv", "convolutionalize", "sliding_window_scores"]


def fc_to_conv(linear: nn.Linear, in_channels: int, kernel_size) -> nn.Conv2d:
    """A Conv2d computing what ``linear`` computes on a flattened (C, kh, kw) input:
    weight (out, C*kh*kw) -> (out, C, kh, kw), the same bias. With a 1x1 kernel it is a Linear
    applied at every position (the "network in network" view)."""
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"fc_to_conv: expected an nn.Linear, got {type(linear).__name__}")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if in_channels * kh * kw != linear.in_features:
        raise ValueError(f"fc_to_conv: {in_channels} channels x {kh} x {kw} = "
                         f"{in_channels * kh * kw} inputs, but the Linear takes "
                         f"{linear.in_features}")
    conv = nn.Conv2d(in_channels, linear.out_features, (kh, kw), bias=linear.bias is not None)
    if linear.weight.dtype == np.float64:
        conv.double()
    with no_grad():
        conv.weight._data[...] = linear.weight._data.reshape(conv.weight.shape)
        if linear.bias is not None:
            conv.bias._data[...] = linear.bias._data
    return conv


def _layers(model) -> list:
    if isinstance(model, nn.Sequential):
        out = []
        for m in model:
            out += _layers(m)
        return out
    return [model]


def convolutionalize(model, input_size) -> nn.Sequential:
    """A fully convolutional copy of a Sequential classifier trained on ``input_size``
    (C, H, W) inputs: Flatten + the first Linear become one convolution over the feature map
    that Flatten received, each later Linear a 1x1 convolution, other layers are kept (shared,
    not copied). On a (C, H, W) input it gives (N, K, 1, 1) = the classifier's scores; on a
    larger image, a map of the scores of windows ``stride`` apart."""
    layers = _layers(model)
    out, shape, seen_flatten = [], (1,) + tuple(input_size), False
    params = [p for layer in layers for p in layer.parameters()]
    x = zeros(*shape, dtype=params[0].dtype if params else None)
    with no_grad():
        for layer in layers:
            if isinstance(layer, nn.Flatten):
                seen_flatten = True
                continue
            if isinstance(layer, nn.Linear):
                if x.ndim == 4:                         # first Linear after Flatten
                    conv = fc_to_conv(layer, x.shape[1], x.shape[2:])
                elif seen_flatten:
                    conv = fc_to_conv(layer, x.shape[1], 1)
                else:
                    raise ValueError("convolutionalize: a Linear before any Flatten; expected "
                                     "a convolutional feature extractor, Flatten, then Linears")
                out.append(conv)
                x = conv(x if x.ndim == 4 else x.reshape(*x.shape, 1, 1))
                continue
            out.append(layer)
            x = layer(x)
    if not seen_flatten:
        raise ValueError("convolutionalize: the model has no Flatten layer; nothing to convert")
    return nn.Sequential(*out)


def sliding_window_scores(model, images, window, stride) -> Tensor:
    """The expensive way: crop every ``window`` (h, w) at ``stride`` and classify each crop
    separately. Shapes: images (N, C, H, W) -> scores (N, K, rows, cols), rows =
    (H - h) // stride + 1. What ``convolutionalize(model)(images)`` computes in one pass."""
    h, w = (window, window) if isinstance(window, int) else tuple(window)
    s = int(stride)
    x = images._data if isinstance(images, Tensor) else np.asarray(images)
    if x.ndim != 4 or x.shape[2] < h or x.shape[3] < w:
        raise ValueError(f"sliding_window_scores: expected (N, C, H, W) images at least "
                         f"{h} x {w}, got shape {x.shape}")
    rows, cols = (x.shape[2] - h) // s + 1, (x.shape[3] - w) // s + 1
    grid = None
    with no_grad():
        for i in range(rows):
            for j in range(cols):
                scores = model(Tensor(x[:, :, i * s:i * s + h, j * s:j * s + w]))._data
                if grid is None:
                    grid = np.empty((x.shape[0], scores.shape[1], rows, cols), scores.dtype)
                grid[:, :, i, j] = scores
    return Tensor(grid)
