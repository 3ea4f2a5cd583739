"""Known-answer tests for helpers.plots (no data dir needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots as figures  # noqa: E402
from helpers.plots import RNN_SHAPES, RNNShape, draw_rnn_shapes  # noqa: E402


def test_boundary_grid_covers_points_with_margin():
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    xx, yy, grid = figures.boundary_grid(x, steps=5, margin=0.5)
    assert xx.shape == yy.shape == (5, 5)
    assert grid.shape == (25, 2)
    assert grid[:, 0].min() == pytest.approx(-0.5) and grid[:, 0].max() == pytest.approx(2.5)
    assert grid[:, 1].min() == pytest.approx(0.5) and grid[:, 1].max() == pytest.approx(3.5)
    assert np.allclose(np.unique(grid[:, 0]), [-0.5, 0.25, 1.0, 1.75, 2.5])


def test_boundary_grid_rejects_non_2d():
    with pytest.raises(ValueError):
        figures.boundary_grid(np.zeros((4, 3)))


def test_plot_decision_boundary_draws_half_plane():
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 1, 0, 1])
    ax = figures.plot_decision_boundary(lambda g: (g[:, 0] > 0).astype(float)[:, None], x, y,
                                        title="half plane", steps=21)
    assert ax.get_title() == "half plane"
    assert len(ax.collections) >= 3  # filled contour + 0.5 line + scatter
    plt.close(ax.figure)


def test_misclassified_indices_order_and_limit():
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 2, 2, 0, 4, 1])
    assert figures.misclassified_indices(y_true, y_pred).tolist() == [1, 3, 5]
    conf = np.array([0.9, 0.4, 0.8, 0.95, 0.1, 0.7])
    assert figures.misclassified_indices(y_true, y_pred, confidence=conf).tolist() == [3, 5, 1]
    assert figures.misclassified_indices(y_true, y_pred, n=2, confidence=conf).tolist() == [3, 5]


def test_misclassified_indices_shape_mismatch():
    with pytest.raises(ValueError):
        figures.misclassified_indices(np.zeros(3), np.zeros(4))


def test_plot_confusion_normalised_cells():
    cm = np.array([[3, 1], [0, 4]])
    ax = figures.plot_confusion(cm, ["cat", "dog"])
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.75", "0.25", "0.00", "1.00"]
    assert ax.get_xlabel() == "predicted class"
    plt.close(ax.figure)
    ax = figures.plot_confusion(cm, ["cat", "dog"], normalize=False)
    assert [t.get_text() for t in ax.texts] == ["3", "1", "0", "4"]
    plt.close(ax.figure)


def test_show_misclassified_titles():
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    fig, idx = figures.show_misclassified(images, np.array([0, 1, 1, 0]), np.array([0, 0, 1, 1]),
                                          ["cat", "dog"], n=10)
    assert idx.tolist() == [1, 3]
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["dog\n-> cat", "cat\n-> dog"]
    plt.close(fig)
    fig, idx = figures.show_misclassified(images, np.zeros(4), np.zeros(4), ["cat", "dog"])
    assert fig is None and idx.size == 0


def test_show_feature_maps_panels():
    maps = np.random.default_rng(0).normal(size=(1, 6, 6, 5))
    fig = figures.show_feature_maps(maps, n=16, ncols=4, title="conv1")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 5
    assert "6x6" in fig._suptitle.get_text()
    plt.close(fig)


# --------------------------------------------------------------------------- RNN shapes

def test_five_shapes_have_the_right_wiring() -> None:
    by_name = {s.name.replace("\n", " "): s for s in RNN_SHAPES}
    assert len(RNN_SHAPES) == 5
    one = by_name["one-to-one"]
    assert (one.n_steps, one.inputs, one.outputs) == (1, (0,), (0,))
    caption = by_name["one-to-many"]
    assert caption.inputs == (0,) and len(caption.outputs) == caption.n_steps
    sentiment = by_name["many-to-one"]
    assert len(sentiment.inputs) == sentiment.n_steps and sentiment.outputs == (sentiment.n_steps - 1,)
    translate = by_name["many-to-many"]
    # encoder-decoder: every output comes after the last input
    assert min(translate.outputs) > max(translate.inputs)
    video = by_name["synchronised many-to-many"]
    assert video.inputs == video.outputs == tuple(range(video.n_steps))


def test_shape_rejects_steps_outside_the_sequence() -> None:
    with pytest.raises(ValueError):
        RNNShape("bad", "", 2, (0, 2), (1,))


def test_draw_rnn_shapes_makes_one_panel_per_shape() -> None:
    fig = draw_rnn_shapes()
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 5
    # one-to-one panel: one cell, one input, one output box
    assert len(panels[0].patches) == 3
    # many-to-one with 4 steps: 4 cells + 4 inputs + 1 output
    assert len(panels[2].patches) == 9
    plt.close(fig)
