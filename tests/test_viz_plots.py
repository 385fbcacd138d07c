"""Plots that read well: one colour scale for all filters, feature maps without empty rows and
with 1x1 maps as bars, rotated long class names, integer epoch ticks, one copy of each figure in
Jupyter, no backend switch when a display exists; the interpretation plots."""

import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import interpret, models, viz
from autograd_cnn.viz import plots


def test_filters_share_one_colour_scale_with_a_colour_bar():
    w = np.random.default_rng(0).normal(size=(6, 1, 5, 5))
    w[2] *= 10                                             # one strong filter
    fig = plots.plot_filters(w)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 6
    m = np.abs(w).max()
    assert all(im.norm.vmin == pytest.approx(-m) and im.norm.vmax == pytest.approx(m)
               for im in images)
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel() == "weight"
    rgb = plots.plot_filters(np.random.default_rng(1).normal(size=(4, 3, 3, 3)))
    assert len([ax for ax in rgb.axes if ax.get_label() == "<colorbar>"]) == 1
    plt.close("all")


def test_feature_maps_have_no_empty_rows_and_draw_1x1_maps_as_bars():
    ac.manual_seed(0)
    model = models.lenet5_1998()                           # C5 gives 120 maps of 1x1
    image = np.random.default_rng(0).random((1, 32, 32)).astype(np.float32)
    fig = plots.plot_feature_maps(model, image, layer_types=("Conv2d",), max_maps=16, cols=8)
    subs = fig.subfigs
    titles = [s._suptitle.get_text() for s in subs]
    assert titles == ["input", "c1 (6 maps, 28x28)", "c3.convs.0 (6 maps, 10x10)",
                      "c3.convs.1 (9 maps, 10x10)", "c3.convs.2 (1 maps, 10x10)",
                      "c5 (120 channels, 1x1: one value each)"]
    for sub, maps in zip(subs[1:-1], (6, 6, 9, 1)):
        # as many rows as the maps need (9 maps in rows of 8: 2), every shown axis drawn on
        assert sub.axes[0].get_subplotspec().get_gridspec().nrows == -(-maps // 8)
        assert all(ax.get_images() or not ax.axison for ax in sub.axes)
        assert sum(bool(ax.get_images()) for ax in sub.axes) == maps
    bars = [ax for ax in subs[-1].axes if ax.patches]
    assert len(bars) == 1 and len(bars[0].patches) == 120
    # 16 maps in rows of 8: two full rows, nothing more
    fig2 = plots.plot_feature_maps(models.lenet5(), image, max_maps=16, cols=8)
    assert [len(s.axes) for s in fig2.subfigs] == [8, 8, 16]
    assert fig2.subfigs[2]._suptitle.get_text() == "features.3 (16 maps, 10x10)"
    plt.close("all")


def test_confusion_matrix_rotates_long_class_names_only():
    cm = np.eye(3, dtype=int) * 4
    fig = plots.plot_confusion_matrix(cm, ["airplane", "automobile", "bird"])
    assert {t.get_rotation() for t in fig.axes[0].get_xticklabels()} == {45.0}
    fig = plots.plot_confusion_matrix(cm)
    assert {t.get_rotation() for t in fig.axes[0].get_xticklabels()} == {0.0}
    plt.close("all")


def test_curves_have_integer_epoch_ticks():
    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + 0.1 * e}
            for e in (1, 2, 3)]
    fig = plots.plot_curves(rows)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close("all")


def test_in_jupyter_a_figure_is_shown_once_and_closed(monkeypatch):
    from IPython.core.formatters import DisplayFormatter
    import IPython.display
    shown = []
    monkeypatch.setattr(plots, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig = plots.plot_images(np.zeros((2, 1, 4, 4)))
    assert shown == [fig]
    assert fig.number not in plt.get_fignums()          # plt.show() / the cell end: no copy
    assert DisplayFormatter().format(fig) == ({}, {})   # as a cell's value: no copy
    plt.close("all")


def test_backend_is_kept_when_a_display_exists(monkeypatch):
    calls = []
    monkeypatch.setattr(matplotlib, "use", lambda name, **kw: calls.append(name))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(plots, "_in_notebook", lambda: False)
    monkeypatch.setenv("DISPLAY", ":0")
    plots._plt()
    assert calls == []
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    plots._plt()
    assert calls == ["Agg"]                              # headless: files only


def test_interpretation_plots(tmp_path):
    ac.manual_seed(0)
    model = models.lenet5(modern=True)
    x = np.random.default_rng(0).random((2, 1, 32, 32)).astype(np.float32)
    maps = {"saliency": interpret.saliency(model, x),
            "Grad-CAM": interpret.grad_cam(model, x, "features.3")}
    fig = viz.plot_heatmaps(x, maps, path=tmp_path / "h.png", titles=["a", "b"])
    assert len(fig.axes) == 6 and (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"map 'bad' has shape \(2, 5, 5\), expected"):
        viz.plot_heatmaps(x, {"bad": np.zeros((2, 5, 5))})
    top = interpret.top_k_patches(model, "features.0", x, unit=0, k=2)
    fig = viz.plot_patches({"unit 0": top, "unit 0 again": top[:1]}, path=tmp_path / "p.png")
    assert len(fig.axes) == 4
    scores, _, _ = interpret.pca(np.random.default_rng(0).normal(size=(20, 5)))
    fig = viz.plot_embedding(scores, np.arange(20) % 3, path=tmp_path / "e.png",
                             class_names=["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"expected points \(N, 2\)"):
        viz.plot_embedding(np.zeros((3, 3)))
    fig = viz.plot_layer_norms({"plain": [1e-9, 1e-5, 1.0], "residual": [1.0, 1.0, 1.0]},
                               path=tmp_path / "n.png")
    assert len(fig.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="no curves given"):
        viz.plot_layer_norms({})
