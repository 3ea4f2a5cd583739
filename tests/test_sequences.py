"""Tests for helpers.sequences (offline, no data directory)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.sequences import RNN_SHAPES, RNNShape, draw_rnn_shapes, length_stats  # noqa: E402


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


def test_length_stats_known_answer() -> None:
    stats = length_stats([10, 20, 30, 40, 100, 200], cut=100, under=35)
    assert stats["n"] == 6
    assert stats["mean"] == pytest.approx(400 / 6)
    assert stats["median"] == pytest.approx(35.0)
    assert stats["max"] == 200
    assert stats["share_under"] == pytest.approx(3 / 6)
    assert stats["share_padded"] == pytest.approx(4 / 6)  # 10, 20, 30, 40
    assert stats["share_cut"] == pytest.approx(1 / 6)  # only 200 (100 fits exactly)
    assert stats["share_tokens_kept"] == pytest.approx(300 / 400)


def test_length_stats_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        length_stats([])
    with pytest.raises(ValueError):
        length_stats([3, -1])
