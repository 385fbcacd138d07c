"""Training pictures with matplotlib (imported only when a plot is made, so the package itself
never needs it): loss/accuracy curves, the confusion matrix, a layer's filters, feature maps.

Each function draws on a new figure and returns it; with ``path`` the figure is also written
there (PNG by the suffix) and closed, which is what scripts want. Without ``path`` it is left
open for Jupyter to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_curves", "plot_confusion_matrix", "plot_filters", "plot_feature_maps",
           "plot_images", "feature_maps"]


def _plt():
    try:
        import matplotlib
        if not _in_notebook():
            matplotlib.use("Agg")        # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib "
                          "(or pip install 'autograd_cnn[plots]')") from None
    return plt


def _in_notebook() -> bool:
    import sys
    return "ipykernel" in sys.modules


def _finish(fig, path):
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return fig


def _array(x) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


def plot_curves(history, path=None):
    """Loss and accuracy per epoch, training and validation (``Trainer.history`` or a list of
    rows with epoch, train_loss, train_accuracy, val_loss, val_accuracy)."""
    plt = _plt()
    rows = list(getattr(history, "rows", history))
    if not rows:
        raise ValueError("plot_curves: the history is empty")
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for split, style in (("train", "-o"), ("val", "-s")):
        if f"{split}_loss" in rows[0]:
            ax_loss.plot(epochs, [r[f"{split}_loss"] for r in rows], style, ms=3, label=split)
            ax_acc.plot(epochs, [r[f"{split}_accuracy"] for r in rows], style, ms=3, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _finish(fig, path)


def plot_confusion_matrix(matrix, class_names=None, path=None, title="confusion matrix"):
    """Counts with rows = true class, columns = predicted class."""
    plt = _plt()
    cm = _array(matrix).astype(np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set(xlabel="predicted", ylabel="true", title=f"{title} (accuracy {accuracy:.4f})")
    fig.tight_layout()
    return _finish(fig, path)


def _grid(n: int) -> tuple[int, int]:
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


def plot_filters(weight, path=None, title="first-layer filters"):
    """Each output channel's kernel of a conv weight (out, in, kh, kw): one tile per filter
    (input channels averaged unless there are exactly 3, shown as colour)."""
    plt = _plt()
    w = _array(weight).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a conv weight (out, in, kh, kw), got {w.shape}")
    rows, cols = _grid(w.shape[0])
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= w.shape[0]:
            continue
        f = w[i]
        if f.shape[0] == 3:
            f = np.transpose(f, (1, 2, 0))
            f = (f - f.min()) / (f.max() - f.min() + 1e-12)
            ax.imshow(f)
        else:
            ax.imshow(f.mean(axis=0), cmap="gray")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(title)
    return _finish(fig, path)


def feature_maps(model, image, layer_types=("Conv2d",)) -> list[tuple[str, np.ndarray]]:
    """The outputs of every layer of the given types for one image (C, H, W) or (1, C, H, W),
    in forward order, as (layer name, (C, H, W) array); collected with forward hooks."""
    from ..engine import no_grad
    from ..tensor import Tensor

    x = _array(image).astype(np.float32)
    if x.ndim == 3:
        x = x[None]
    captured, handles = [], []
    for name, module in model.named_modules():
        if type(module).__name__ in layer_types:
            handles.append(module.register_forward_hook(
                lambda m, inp, out, name=name: captured.append((name, out._data[0].copy()))))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(x))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return captured


def plot_feature_maps(model, image, path=None, layer_types=("Conv2d",), max_maps: int = 16):
    """The input image and the feature maps of each conv layer for it (one row per layer)."""
    plt = _plt()
    maps = feature_maps(model, image, layer_types)
    if not maps:
        raise ValueError(f"plot_feature_maps: the model has no layer of type {layer_types}")
    cols = min(max(m.shape[0] for _, m in maps), max_maps) + 1
    fig, axes = plt.subplots(len(maps), cols, figsize=(1.2 * cols, 1.35 * len(maps) + 0.3),
                             squeeze=False)
    img = _array(image)
    img = img[0] if img.ndim == 4 else img
    for r, (name, m) in enumerate(maps):
        for ax in axes[r]:
            ax.axis("off")
        if r == 0:                                   # the input once, top left
            axes[0, 0].imshow(img.mean(axis=0) if img.shape[0] != 3
                              else np.transpose(img, (1, 2, 0)), cmap="gray")
            axes[0, 0].set_title("input", fontsize=7)
        axes[r, 1].set_title(f"{name} {tuple(m.shape)}", fontsize=7, loc="left")
        for c in range(min(m.shape[0], max_maps)):
            axes[r, c + 1].imshow(m[c], cmap="viridis")
    fig.tight_layout()
    return _finish(fig, path)


def plot_images(images, titles=None, path=None, cols: int = 8, title=None):
    """A grid of images (N, C, H, W) or (N, H, W) with optional titles (e.g. misclassified
    digits with 'true -> predicted')."""
    plt = _plt()
    imgs = _array(images)
    if imgs.ndim == 4:
        imgs = imgs.mean(axis=1) if imgs.shape[1] != 3 else np.transpose(imgs, (0, 2, 3, 1))
    n = len(imgs)
    if n == 0:
        raise ValueError("plot_images: no images")
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.6 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap="gray")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path)
