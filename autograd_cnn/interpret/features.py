"""What the layers compute: feature maps per layer, the input patches that excite a unit most,
and the penultimate features of a data set projected to 2-D (PCA, or t-SNE with scikit-learn).
"""

from __future__ import annotations

import numpy as np

from ..engine import no_grad
from ..tensor import Tensor
from ._common import as_batch, capture, evaluating, get_layer

__all__ = ["feature_maps", "top_k_patches", "penultimate_features", "pca", "tsne"]


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


def _receptive_box(model, layer, image: np.ndarray, unit: int, i: int, j: int):
    """The input rows and columns that feature-map position (i, j) of channel ``unit`` depends
    on: the bounding box of the nonzero gradient d a[unit, i, j] / d x (its receptive field,
    cut by the image border; works for any architecture)."""
    store = {}
    inp = Tensor(image[None], requires_grad=True)
    with capture(layer, store):
        model(inp)
    store["out"][0, unit, i, j].backward()
    touched = np.abs(inp.grad._data[0]).sum(axis=0) > 0
    rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
    if not len(rows):                              # a saturated unit: fall back to the pixel
        h, w = image.shape[1:]
        r, c = i * h // store["out"].shape[2], j * w // store["out"].shape[3]
        return r, r + 1, c, c + 1
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def top_k_patches(model, layer, images, unit: int, k: int = 9, batch_size: int = 256):
    """The k images whose strongest response in channel ``unit`` of ``layer`` is largest, and in
    each the input patch (receptive field) under that strongest position.

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
        best, where = np.concatenate(best), np.concatenate(where)
        order = np.argsort(-best, kind="stable")[:k]
        result = []
        for n in order:
            i, j = np.unravel_index(where[n], fmap_shape)
            r0, r1, c0, c1 = _receptive_box(model, layer, xb[n], unit, int(i), int(j))
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


def tsne(features, k: int = 2, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """t-SNE (van der Maaten & Hinton 2008) of features (N, D) to (N, k), by scikit-learn's
    TSNE (PCA initialisation); needs scikit-learn (in the extras)."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise ImportError("tsne needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'autograd_cnn[extras]'); pca() needs only numpy") \
            from None
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) <= perplexity:
        raise ValueError(f"tsne: expected features (N, D) with N > perplexity ({perplexity}), "
                         f"got shape {x.shape}")
    return TSNE(n_components=k, perplexity=perplexity, init="pca", random_state=seed
                ).fit_transform(x)
