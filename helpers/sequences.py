"""Plumbing for the sequence chapters: RNN problem-shape diagrams and length statistics.

The tokenizer, the vocabulary and the models stay in the notebooks, where a
learner reads them; this module only draws the five RNN problem shapes and
summarises sequence lengths before padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RNNShape:
    """One RNN problem shape: at which time steps inputs enter and outputs leave."""

    name: str
    example: str
    n_steps: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def __post_init__(self) -> None:
        for step in self.inputs + self.outputs:
            if not 0 <= step < self.n_steps:
                raise ValueError(f"{self.name}: step {step} outside 0..{self.n_steps - 1}")


RNN_SHAPES: tuple[RNNShape, ...] = (
    RNNShape("one-to-one", "image -> class\n(no recurrence: a plain network)", 1, (0,), (0,)),
    RNNShape("one-to-many", "image captioning:\none image -> a sentence", 4, (0,), (0, 1, 2, 3)),
    RNNShape("many-to-one", "sentiment analysis:\na review -> positive/negative", 4, (0, 1, 2, 3), (3,)),
    RNNShape("many-to-many", "machine translation:\nread a sentence, then write one", 6,
             (0, 1, 2), (3, 4, 5)),
    RNNShape("synchronised\nmany-to-many", "video: one label\nper frame", 4, (0, 1, 2, 3), (0, 1, 2, 3)),
)


def draw_rnn_shapes(shapes: Sequence[RNNShape] = RNN_SHAPES, title: str = "Five shapes of RNN problems"):
    """Draw each shape as input (bottom) -> RNN cell (middle) -> output (top) boxes.

    Horizontal arrows between cells carry the hidden state from one step to the
    next. Returns the matplotlib figure (one panel per shape).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colours = {"in": "#d1495b", "cell": "#2a9d8f", "out": "#1f6feb"}
    widths = [max(s.n_steps, 2) for s in shapes]
    fig, axes = plt.subplots(1, len(shapes), figsize=(1.0 + 0.62 * sum(widths), 3.2),
                             gridspec_kw={"width_ratios": widths})
    axes = np.atleast_1d(axes)

    def box(ax, x: float, y: float, kind: str) -> None:
        ax.add_patch(FancyBboxPatch((x - 0.3, y - 0.25), 0.6, 0.5, boxstyle="round,pad=0.03",
                                    fc=colours[kind], ec="black", lw=0.8, alpha=0.85))

    def arrow(ax, x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "lw": 1.0, "color": "black"})

    for ax, shape in zip(axes, shapes, strict=True):
        for t in range(shape.n_steps):
            box(ax, t, 1.0, "cell")
            if t > 0:
                arrow(ax, t - 1 + 0.3, 1.0, t - 0.3, 1.0)
            if t in shape.inputs:
                box(ax, t, 0.0, "in")
                arrow(ax, t, 0.25, t, 0.75)
            if t in shape.outputs:
                box(ax, t, 2.0, "out")
                arrow(ax, t, 1.25, t, 1.75)
        ax.set_xlim(-0.6, max(shape.n_steps, 2) - 0.4)
        ax.set_ylim(-0.5, 2.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(shape.name, fontsize=10)
        ax.text((max(shape.n_steps, 2) - 1) / 2, -0.55, shape.example, ha="center", va="top", fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="black", lw=0.8) for c in colours.values()]
    fig.legend(handles, ["input x(t)", "RNN cell, hidden state h(t)", "output y(t)"],
               loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.12), frameon=False)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def length_stats(lengths: Sequence[int] | np.ndarray, cut: int = 100,
                 under: int = 300) -> dict[str, float]:
    """Summarise sequence lengths (in tokens) before padding or cutting to ``cut``.

    Returns n, mean, median, p90, max, ``share_under`` (share of sequences
    shorter than ``under`` tokens), ``share_padded`` (shorter than ``cut``, so
    they get padding), ``share_cut`` (longer than ``cut``, so they lose tokens)
    and ``share_tokens_kept`` (share of all tokens that survive the cut).
    """
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.size == 0:
        raise ValueError("length_stats needs at least one length")
    if (arr < 0).any():
        raise ValueError("lengths must be non-negative")
    total = arr.sum()
    return {
        "n": int(arr.size),
        "mean": float(arr.mean()),
        "median": float(np.median(arr)),
        "p90": float(np.percentile(arr, 90)),
        "max": int(arr.max()),
        "share_under": float((arr < under).mean()),
        "share_padded": float((arr < cut).mean()),
        "share_cut": float((arr > cut).mean()),
        "share_tokens_kept": float(np.minimum(arr, cut).sum() / total) if total else 1.0,
    }
