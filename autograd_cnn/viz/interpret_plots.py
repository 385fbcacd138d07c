"""Pictures of ``autograd_cnn.interpret``'s results (matplotlib, imported lazily): gradient flow,
per-layer norms of several networks side by side, heat maps over images, top-k patches and 2-D
embeddings. Like ``plots``: a new figure each, written to ``path`` (and closed) when given, shown
once in Jupyter, returned."""

from __future__ import annotations

import numpy as np

from .plots import _array, _finish, _plt

__all__ = ["plot_gradient_flow", "plot_layer_norms", "plot_heatmaps", "plot_patches",
           "plot_embedding"]


def _log_safe(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.where(v > 0, v, np.nan)          # a log axis cannot show 0: leave a gap


def plot_gradient_flow(flow, step: int = -1, path=None, title=None):
    """Three panels from a ``GradientFlow``: ||dL/dW|| per layer (bars, log scale) at ``step``;
    each activation's standard deviation (bars, log scale) and fraction of zeros (dots) at
    ``step``; and every layer's ||dL/dW|| over the recorded steps (first layer dark, last
    light). The means are in ``flow.activation_stats()``."""
    plt = _plt()
    norms = flow.grad_norms(step)
    stats = flow.activation_stats(step)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
    ax = axes[0]
    ax.bar(range(len(norms)), _log_safe(list(norms.values())), color="tab:blue")
    ax.set_yscale("log")
    ax.set_xticks(range(len(norms)), list(norms), rotation=90, fontsize=7)
    ax.set(ylabel="||dL/dW||", title=f"gradient norm per layer (step {step % len(flow.steps) + 1} "
                            f"of {len(flow.steps)})")
    ax.grid(alpha=0.3, axis="y")
    ax = axes[1]
    if stats:
        names = list(stats)
        ax.bar(range(len(names)), _log_safe([stats[n]["std"] for n in names]),
               color="tab:green", alpha=0.8, label="std")
        ax.set_yscale("log")                     # a vanishing signal shrinks geometrically
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        twin = ax.twinx()
        twin.plot(range(len(names)), [stats[n]["zeros"] for n in names], "o", color="tab:red",
                  ms=4)
        twin.set_ylim(-0.02, 1.02)
        twin.set_ylabel("fraction of zeros (dots)", color="tab:red")
    else:
        ax.text(0.5, 0.5, "no activation modules", ha="center", va="center",
                transform=ax.transAxes)
    ax.set(ylabel="activation std (bars)", title="activations")
    ax = axes[2]
    hist = flow.history("grad_norm")
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(hist)))
    for (name, h), c in zip(hist.items(), colours):
        ax.plot(np.arange(1, len(h) + 1), _log_safe(h), "-o" if len(h) < 3 else "-", color=c,
                ms=3, lw=1, label=name)
    ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator
    ax.set_xlim(0.5, len(flow.steps) + 0.5)
    if len(flow.steps) <= 10:
        ax.set_xticks(range(1, len(flow.steps) + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="step", ylabel="||dL/dW||", title="gradient norms over steps")
    if len(hist) <= 8:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_layer_norms(curves: dict, path=None, title="gradient norm per layer",
                     ylabel="||dL/dW||"):
    """Several networks' per-layer values on one log axis: ``curves`` maps a label to a
    ``GradientFlow`` (its last step's gradient norms) or to a sequence of values (layer 1
    first). The x axis is the layer's depth."""
    plt = _plt()
    if not curves:
        raise ValueError("plot_layer_norms: no curves given")
    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    for label, c in curves.items():
        values = list(c.grad_norms().values()) if hasattr(c, "grad_norms") else list(c)
        ax.plot(np.arange(1, len(values) + 1), _log_safe(values), "-o", ms=3, label=str(label))
    ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="layer (1 = next to the input)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3:
        img = np.transpose(img, (1, 2, 0)) if img.shape[0] == 3 else img.mean(axis=0)
    if img.ndim == 3:                           # RGB: scale to [0, 1] for imshow
        img = (img - img.min()) / (img.max() - img.min() + 1e-12)
    return img


def plot_heatmaps(images, maps: dict, path=None, titles=None, cmap="jet", alpha=0.5,
                  title=None):
    """Rows of images (N, C, H, W) or one (C, H, W), each followed by its heat maps laid over
    it: ``maps`` maps a method's name to (N, H, W) (or (H, W) for one image) arrays, e.g.
    {'saliency': ..., 'Grad-CAM': ...}; each map is scaled to its own [min, max]."""
    plt = _plt()
    imgs = _array(images)
    imgs = imgs[None] if imgs.ndim == 3 else imgs
    n = len(imgs)
    arrays = {k: (np.asarray(v)[None] if np.ndim(v) == 2 else np.asarray(v))
              for k, v in maps.items()}
    for k, v in arrays.items():
        if v.shape[0] != n or v.shape[1:] != imgs.shape[2:]:
            raise ValueError(f"plot_heatmaps: map {k!r} has shape {v.shape}, expected "
                             f"({n}, {imgs.shape[2]}, {imgs.shape[3]})")
    cols = 1 + len(arrays)
    fig, axes = plt.subplots(n, cols, figsize=(1.9 * cols, 1.9 * n + 0.3), squeeze=False,
                             layout="constrained")
    for r in range(n):
        base = _gray(imgs[r])
        axes[r, 0].imshow(base, cmap="gray")
        axes[r, 0].set_title(str(titles[r]) if titles is not None else "image", fontsize=8)
        for c, (name, v) in enumerate(arrays.items(), start=1):
            m = v[r].astype(np.float64)
            m = (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else np.zeros_like(m)
            axes[r, c].imshow(base, cmap="gray")
            axes[r, c].imshow(m, cmap=cmap, alpha=alpha, vmin=0, vmax=1)
            axes[r, c].set_title(name, fontsize=8)
        for ax in axes[r]:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_patches(units: dict, path=None, title="top activating input patches"):
    """One row per unit: ``units`` maps a row label to ``interpret.top_k_patches``'s result
    (each patch drawn in its image's grey scale, titled with its activation)."""
    plt = _plt()
    if not units:
        raise ValueError("plot_patches: no units given")
    k = max(len(v) for v in units.values())
    fig, axes = plt.subplots(len(units), k, figsize=(1.1 * k + 0.8, 1.25 * len(units) + 0.4),
                             squeeze=False, layout="constrained")
    for r, (label, patches) in enumerate(units.items()):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(patches):
                ax.axis("off")
                continue
            ax.imshow(_gray(patches[c]["patch"]), cmap="gray")
            ax.set_title(f"{patches[c]['score']:.2f}", fontsize=7)
        axes[r, 0].set_ylabel(str(label), fontsize=8)
    fig.suptitle(title)
    return _finish(fig, path)


def plot_embedding(points, labels=None, path=None, title="2-D embedding", class_names=None):
    """A scatter of points (N, 2) coloured by integer labels (legend with ``class_names``)."""
    plt = _plt()
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"plot_embedding: expected points (N, 2), got shape {p.shape}")
    fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    if labels is None:
        ax.scatter(p[:, 0], p[:, 1], s=8)
    else:
        labels = np.asarray(labels)
        cmap = plt.get_cmap("tab10")
        for i, k in enumerate(np.unique(labels)):
            sel = labels == k
            name = class_names[k] if class_names is not None else str(k)
            ax.scatter(p[sel, 0], p[sel, 1], s=8, color=cmap(i % 10), label=name)
        ax.legend(fontsize=7, markerscale=2, loc="best", ncol=2)
    ax.set(title=title)
    ax.set_xticks([])
    ax.set_yticks([])
    return _finish(fig, path)
