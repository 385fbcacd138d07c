"""What the layers compute: feature maps per layer, the input patches that excite a unit most,
and the penultimate features of a data set projected to 2-D (PCA, or t-SNE with scikit-learn).
"""

from __future__ import annotations

import numpy as np

from ..args import as_pair
from ..engine import no_grad
from ..tensor import Tensor
from ._common import as_batch, capture, evaluating, get_layer, model_dtype

__all__ = ["feature_maps", "top_k_patches", "receptive_field", "penultimate_features", "pca", "tsne"]


def feature_maps(model, image, layer_types=("Conv2d",)) -> list[tuple[str, np.ndarray]]:
    """The outputs of every layer of the given types (class names) for one image (C, H, W) or
    (1, C, H, W), in forward order, as (layer name, (C, H, W) array); forward hooks."""
    xb, _ = as_batch(image, "feature_maps", model)
    captured, handles = [], []
    for name, module in model.named_modules():
        if type(module).__name__ in layer_types:
            handles.append(module.register_forward_hook(
                lambda m, inp, out, name=name: captured.append((name, out._data[0].copy()))))
    try:
        with evaluating(model), no_grad():
            model(Tensor(xb[:1]))
    finally:
        for h in handles:
            h.remove()
    return captured


def receptive_field(model, layer, input_shape) -> tuple[tuple, tuple, tuple]:
    """(size, jump, offset) per axis of one unit of ``layer``'s output: unit (i, j) sees input
    rows offset[0] + i jump[0] ... + size[0] - 1 (likewise columns). Computed from the windowed
    layers (conv, pooling) that run before ``layer``'s output, in forward order: with kernel k,
    stride s, padding p, dilation d each one does

        size += (d (k - 1)) jump,   offset -= p jump,   jump *= s

    exact for chains (LeNet, AlexNet, VGG); branches (Inception, shortcuts) are not modelled."""
    layer = get_layer(model, layer, "receptive_field")
    windows, handles, done = [], [], []
    for _, module in model.named_modules():
        if hasattr(module, "kernel_size") and hasattr(module, "stride") and \
                type(module).__name__ != "ShortcutA":
            handles.append(module.register_forward_hook(
                lambda m, i, o: None if done else windows.append(m)))
    handles.append(layer.register_forward_hook(lambda m, i, o: done.append(True)))
    try:
        with evaluating(model), no_grad():
            model(Tensor(np.zeros((1, *input_shape), dtype=model_dtype(model))))
    finally:
        for h in handles:
            h.remove()
    size, jump, offset = [1, 1], [1, 1], [0, 0]
    for m in windows:
        k, s = as_pair(m.kernel_size), as_pair(m.stride if m.stride is not None else m.kernel_size)
        d = as_pair(getattr(m, "dilation", 1))
        p = getattr(m, "padding", 0)
        if isinstance(p, str):                   # 'valid' or 'same' (stride 1)
            p = (0, 0) if p == "valid" else tuple(d[a] * (k[a] - 1) // 2 for a in range(2))
        p = as_pair(p)
        for a in range(2):
            size[a] += d[a] * (k[a] - 1) * jump[a]
            offset[a] -= p[a] * jump[a]
            jump[a] *= s[a]
    return tuple(size), tuple(jump), tuple(offset)


def top_k_patches(model, layer, images, unit: int, k: int = 9, batch_size: int = 256):
    """The k images whose strongest response in channel ``unit`` of ``layer`` is largest, and in
    each the input patch under that strongest position (its receptive field, cut by the image
    border; see ``receptive_field``).

    Returns a list of k dicts, best first: {'index': image index, 'score': activation,
    'position': (i, j) in the feature map, 'box': (row0, row1, col0, col1) in the image,
    'patch': image[:, row0:row1, col0:col1]}."""
    layer = get_layer(model, layer, "top_k_patches")
    xb, _ = as_batch(images, "top_k_patches", model)
    best, where, store = [], [], {}
    with evaluating(model):
        with no_grad(), capture(layer, store):
            for s in range(0, len(xb), batch_size):
                model(Tensor(xb[s:s + batch_size]))
                a = store["out_data"]
                if a.ndim != 4 or not 0 <= unit < a.shape[1]:
                    raise ValueError(f"top_k_patches: unit must be a channel in [0, "
                                     f"{a.shape[1] if a.ndim > 1 else 0}) of a feature map "
                                     f"(N, C, h, w); the layer gives shape {a.shape}")
                flat = a[:, unit].reshape(len(a), -1)
                best.append(flat.max(axis=1))
                where.append(flat.argmax(axis=1))
            fmap_shape = a.shape[2:]
    size, jump, offset = receptive_field(model, layer, xb.shape[1:])
    best, where = np.concatenate(best), np.concatenate(where)
    order = np.argsort(-best, kind="stable")[:k]
    result = []
    h, w = xb.shape[2:]
    for n in order:
        i, j = np.unravel_index(where[n], fmap_shape)
        r, c = offset[0] + i * jump[0], offset[1] + j * jump[1]
        r0, r1 = max(r, 0), min(r + size[0], h)               # cut by the image border
        c0, c1 = max(c, 0), min(c + size[1], w)
        result.append({"index": int(n), "score": float(best[n]), "position": (int(i), int(j)),
                       "box": (int(r0), int(r1), int(c0), int(c1)),
                       "patch": xb[n, :, r0:r1, c0:c1].copy()})
    return result


def penultimate_features(model, x, fc=None, batch_size: int = 256) -> np.ndarray:
    """The inputs of the classifier's last linear layer (or of ``fc``) for every image of x
    (N, C, H, W): the representation the classes are read from, (N, D)."""
    from ..nn import Linear
    if fc is None:
        linears = [m for m in model.modules() if isinstance(m, Linear)]
        if not linears:
            raise ValueError("penultimate_features: the model has no Linear layer; pass fc=")
        fc = linears[-1]
    fc = get_layer(model, fc, "penultimate_features")
    xb, _ = as_batch(x, "penultimate_features", model)
    rows, store = [], {}
    with evaluating(model), no_grad(), capture(fc, store):
        for s in range(0, len(xb), batch_size):
            model(Tensor(xb[s:s + batch_size]))
            rows.append(np.asarray(store["out_inputs"][0]._data).reshape(
                min(batch_size, len(xb) - s), -1))
    return np.concatenate(rows)


def pca(features, k: int = 2):
    """Principal components by the SVD of the centred data X - mean = U S V^T:

        scores = (X - mean) V_k  (N, k),  components = V_k^T  (k, D),
        explained variance ratio_i = S_i^2 / sum_j S_j^2

    Each component's sign is fixed so that its largest-magnitude entry is positive."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or not 1 <= k <= min(x.shape):
        raise ValueError(f"pca: expected features (N, D) and 1 <= k <= min(N, D), got shape "
                         f"{x.shape} and k={k}")
    xc = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * signs[:, None]
    ratio = s[:k] ** 2 / max(np.sum(s ** 2), 1e-300)
    return xc @ comps.T, comps, ratio


def tsne(features, k: int = 2, perplexity: float = 30.0, seed: int = 0,
         iterations: int = 500) -> np.ndarray:
    """t-SNE (van der Maaten & Hinton 2008) of features (N, D) to (N, k), by scikit-learn's
    TSNE (PCA initialisation); needs scikit-learn (in the extras). Up to 2,000 points use the
    exact gradient (seconds here, where the Barnes-Hut approximation's threads were ten times
    slower on a busy machine), more use Barnes-Hut."""
    try:
        import inspect

        from sklearn.manifold import TSNE
    except ImportError:
        raise ImportError("tsne needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'autograd_cnn[extras]'); pca() needs only numpy") \
            from None
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) <= perplexity:
        raise ValueError(f"tsne: expected features (N, D) with N > perplexity ({perplexity}), "
                         f"got shape {x.shape}")
    # scikit-learn 1.5 renamed n_iter to max_iter
    steps = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"
    method = "exact" if len(x) <= 2000 else "barnes_hut"
    return TSNE(n_components=k, perplexity=perplexity, init="pca", random_state=seed,
                method=method, **{steps: max(int(iterations), 250)}).fit_transform(x)
