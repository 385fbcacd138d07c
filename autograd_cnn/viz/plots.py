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
        if not _has_display():
            matplotlib.use("Agg")        # files only; never switch a backend a display can use
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib "
                          "(or pip install 'autograd_cnn[plots]')") from None
    return plt


def _in_notebook() -> bool:
    import sys
    return "ipykernel" in sys.modules


def _has_display() -> bool:
    """A notebook, a chosen backend (MPLBACKEND), macOS / Windows, or an X / Wayland display:
    then matplotlib's own backend choice is kept."""
    import os
    import sys
    return (_in_notebook() or bool(os.environ.get("MPLBACKEND"))
            or sys.platform in ("darwin", "win32")
            or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")))


def _finish(fig, path):
    """Save to ``path`` (and close), or in Jupyter show the figure once now and close it: the
    returned figure then draws nothing more when it is a cell's value, and neither plt.show()
    nor the end of the cell shows it a second time. Elsewhere the figure is left open."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        _plt().close(fig)
    elif _in_notebook():
        from IPython.display import display
        display(fig)
        _plt().close(fig)
        fig._ipython_display_ = _shown          # already on screen: no second copy
    return fig


def _shown() -> None:
    """What a figure already displayed by ``_finish`` shows when it is a cell's value."""


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
    from matplotlib.ticker import MaxNLocator
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _finish(fig, path)


def plot_confusion_matrix(matrix, class_names=None, path=None, title="confusion matrix"):
    """Counts with rows = true class, columns = predicted class; class names longer than three
    characters are written at 45 degrees so they do not overlap."""
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
    long_names = max(len(n) for n in names) > 3
    ax.set_xticks(range(k), names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center", rotation_mode="anchor")
    ax.set_yticks(range(k), names)
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set(xlabel="predicted", ylabel="true", title=f"{title} (accuracy {accuracy:.4f})")
    fig.tight_layout()
    return _finish(fig, path)


def _grid(n: int) -> tuple[int, int]:
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


def plot_filters(weight, path=None, title="first-layer filters", cols: int | None = None):
    """Each output channel's kernel of a conv weight (out, in, kh, kw): one tile per filter, all
    on one shared colour scale (symmetric around 0, so tiles can be compared) with a colour bar.
    Input channels are averaged unless there are exactly 3 (shown as RGB: every channel mapped
    by the same scale, so grey is 0)."""
    plt = _plt()
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    w = _array(weight).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a conv weight (out, in, kh, kw), got {w.shape}")
    rgb = w.shape[1] == 3
    tiles = np.transpose(w, (0, 2, 3, 1)) if rgb else w.mean(axis=1)
    m = float(np.abs(tiles).max()) or 1.0
    norm = Normalize(-m, m)
    rows, cols = _grid(w.shape[0]) if cols is None else (int(np.ceil(w.shape[0] / cols)), cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols + 1.2, 1.2 * rows + 0.5),
                             squeeze=False)
    cmap = "gray" if rgb else "RdBu_r"
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= w.shape[0]:
            continue
        if rgb:
            ax.imshow(np.clip(norm(tiles[i]), 0, 1))
        else:
            ax.imshow(tiles[i], cmap=cmap, norm=norm)
        ax.set_title(str(i), fontsize=8)
    bar = fig.colorbar(ScalarMappable(norm, cmap), ax=list(axes.flat), shrink=0.8, pad=0.03)
    bar.set_label("weight" + (" (each of R, G, B)" if rgb else ""))
    fig.suptitle(title)
    return _finish(fig, path)


def feature_maps(model, image, layer_types=("Conv2d",)) -> list[tuple[str, np.ndarray]]:
    """The outputs of every layer of the given types for one image, in forward order, as
    (layer name, (C, H, W) array): ``autograd_cnn.interpret.feature_maps``."""
    from ..interpret.features import feature_maps as collect
    return collect(model, image, layer_types)


def plot_feature_maps(model, image, path=None, layer_types=("Conv2d",), max_maps: int = 16,
                      cols: int = 8):
    """The input image and, for each layer of ``layer_types``, its feature maps for that image:
    one block per layer titled 'name (C maps, HxW)', at most ``max_maps`` maps in rows of
    ``cols`` (no empty rows). Layers with 1x1 maps (after global pooling, or a conv as big as
    its input) are drawn as one bar per channel instead of single-pixel tiles."""
    plt = _plt()
    maps = feature_maps(model, image, layer_types)
    if not maps:
        raise ValueError(f"plot_feature_maps: the model has no layer of type {layer_types}")
    img = _array(image)
    img = img[0] if img.ndim == 4 else img
    blocks = [("input", img, 1)]
    for name, m in maps:
        if m.ndim != 3:
            continue                                   # (features,): not a map, nothing to tile
        bars = m.shape[1:] == (1, 1)
        n = m.shape[0] if bars else min(m.shape[0], max_maps)
        blocks.append((name, m, 1 if bars else int(np.ceil(n / cols))))
    fig = plt.figure(figsize=(1.15 * cols, sum(1.2 * r + 0.35 for *_, r in blocks)),
                     layout="constrained")
    subfigs = fig.subfigures(len(blocks), 1, height_ratios=[1.2 * r + 0.35 for *_, r in blocks],
                             squeeze=False)[:, 0]
    for sub, (name, m, rows) in zip(subfigs, blocks):
        if name == "input":
            ax = sub.subplots(1, cols)[0] if cols > 1 else sub.subplots()
            for extra in sub.axes:
                extra.axis("off")
            ax.imshow(m.mean(axis=0) if m.shape[0] != 3 else np.transpose(m, (1, 2, 0)),
                      cmap="gray")
            sub.suptitle("input", fontsize=9, x=0.02, ha="left")
        elif m.shape[1:] == (1, 1):
            ax = sub.subplots()
            ax.bar(range(m.shape[0]), m[:, 0, 0], color="tab:blue")
            ax.set_xlabel("channel", fontsize=8)
            ax.tick_params(labelsize=7)
            sub.suptitle(f"{name} ({m.shape[0]} channels, 1x1: one value each)", fontsize=9,
                         x=0.02, ha="left")
        else:
            shown = min(m.shape[0], max_maps)
            axes = np.atleast_1d(sub.subplots(rows, cols, squeeze=False)).ravel()
            for c, ax in enumerate(axes):
                ax.axis("off")
                if c < shown:
                    ax.imshow(m[c], cmap="viridis")
            more = f", first {shown} shown" if shown < m.shape[0] else ""
            sub.suptitle(f"{name} ({m.shape[0]} maps, {m.shape[1]}x{m.shape[2]}{more})",
                         fontsize=9, x=0.02, ha="left")
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
