"""The deconvnet view of Zeiler & Fergus 2014 ("Visualizing and understanding convolutional
networks"): project one unit's activation back to pixel space through the layers below it,

    max pool  -> max unpool with the forward pass's switches (where each maximum came from)
    ReLU      -> ReLU (keep the reconstruction positive)
    conv      -> transposed convolution with the same filters (conv_transpose2d)

giving the pattern in the input that the unit responds to, at the place it found it.
"""

from __future__ import annotations

import numpy as np

from ..args import as_pair
from .. import functional as F
from .. import nn
from ..engine import no_grad
from ..tensor import Tensor
from ._common import as_batch

__all__ = ["deconvnet"]

_SUPPORTED = "Conv2d, ReLU, LeakyReLU, MaxPool2d, Identity, Dropout"


def _forward(layers, x: Tensor, last: int):
    """Run layers[0..last], remembering what the way back needs: the pools' switches and every
    layer's input size."""
    memory = []
    for layer in layers[:last + 1]:
        size = x.shape[2:]
        if isinstance(layer, nn.MaxPool2d):
            x, idx = F.max_pool2d(x, layer.kernel_size, layer.stride, layer.padding,
                                  layer.dilation, layer.ceil_mode, return_indices=True)
            memory.append((layer, size, idx))
        elif isinstance(layer, (nn.Conv2d, nn.ReLU, nn.LeakyReLU, nn.Identity, nn.Dropout)):
            if isinstance(layer, nn.Conv2d) and layer.groups != 1:
                raise TypeError(f"deconvnet: grouped convolutions (groups={layer.groups}) are "
                                "not supported")
            x = layer(x)
            memory.append((layer, size, None))
        else:
            raise TypeError(f"deconvnet: cannot invert a {type(layer).__name__} layer; the "
                            f"layers must be a chain of {_SUPPORTED}")
    return x, memory


def _backward(r: Tensor, memory) -> Tensor:
    for layer, size, idx in reversed(memory):
        if isinstance(layer, nn.MaxPool2d):
            # (N, C, h, w) -> (N, C, H, W): each value back where its maximum was, zeros elsewhere
            r = F.max_unpool2d(r, idx, layer.kernel_size, layer.stride, layer.padding,
                               output_size=tuple(size))
        elif isinstance(layer, nn.Conv2d):
            k, s = as_pair(layer.kernel_size), as_pair(layer.stride)
            p, d = as_pair(layer.padding), as_pair(layer.dilation)
            # the rows/columns a strided conv skipped at the end come back as output padding
            extra = tuple(size[i] - ((r.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1)
                                     + 1) for i in range(2))
            r = F.conv_transpose2d(r, layer.weight, None, s, p, extra, 1, d)
        elif isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            r = F.relu(r)
    return r


def deconvnet(layers, image, layer_index: int, unit: int, position="max") -> np.ndarray:
    """Reconstruct in pixel space what channel ``unit`` of ``layers[layer_index]``'s output saw
    in ``image`` (C, H, W) or (1, C, H, W).

    layers: an ``nn.Sequential`` (or list) of Conv2d / ReLU / MaxPool2d (e.g. a LeNet's or a
    VGG's ``features``). position: 'max' keeps only the channel's strongest activation (the
    paper's figures), 'all' the whole channel, or a (row, col) of the feature map.
    Returns the reconstruction, shape (C, H, W) of the image."""
    layers = list(layers)
    if not 0 <= layer_index < len(layers):
        raise ValueError(f"deconvnet: layer_index must be in [0, {len(layers)}), "
                         f"got {layer_index}")
    with_params = next((la for la in layers if list(la.parameters())), None)
    xb, _ = as_batch(image, "deconvnet", with_params)
    if xb.shape[0] != 1:
        raise ValueError(f"deconvnet: expected one image, got a batch of {xb.shape[0]}")
    with no_grad():
        out, memory = _forward(layers, Tensor(xb), layer_index)
        a = out._data                                         # (1, K, h, w)
        if a.ndim != 4 or not 0 <= unit < a.shape[1]:
            raise ValueError(f"deconvnet: unit must be a channel in [0, {a.shape[1]}) of the "
                             f"layer's output of shape {a.shape}, got {unit}")
        keep = np.zeros_like(a)
        if position == "all":
            keep[0, unit] = a[0, unit]
        else:
            i, j = (np.unravel_index(np.argmax(a[0, unit]), a.shape[2:]) if position == "max"
                    else position)
            keep[0, unit, i, j] = a[0, unit, i, j]
        return _backward(Tensor(keep), memory)._data[0]
