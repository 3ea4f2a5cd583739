"""One figure style for the whole book, and the plots every chapter repeats.

Call :func:`use_style` once (``start_run`` does not, so that helpers stay
importable without matplotlib); the notebooks call it in their imports cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PALETTE = ["#1f6feb", "#d1495b", "#2a9d8f", "#e9a03b", "#6f42c1", "#6c757d", "#8ab17d", "#264653"]


def use_style() -> None:
    """Set the book's matplotlib style (sizes, grid, colours, no top/right spines)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "savefig.bbox": "tight",
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "legend.frameon": False,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "image.cmap": "viridis",
    })


def plot_history(history, metrics: Sequence[str] = ("loss", "accuracy"), title: str = "",
                 axes=None):
    """Training curves: train and validation together, one panel per metric.

    ``history`` is a Keras ``History`` or its ``.history`` dict. Returns the figure.
    """
    import matplotlib.pyplot as plt

    hist = getattr(history, "history", history)
    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.6))
    axes = np.atleast_1d(axes)
    fig = axes[0].figure
    for ax, metric in zip(axes, metrics, strict=False):
        train = hist.get(metric)
        if train is None:
            continue
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, marker="o", ms=3, label=f"train {metric}")
        if f"val_{metric}" in hist:
            ax.plot(epochs, hist[f"val_{metric}"], marker="s", ms=3, label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{title} {metric}".strip())
        ax.legend()
    fig.tight_layout()
    return fig


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 8,
                size: float = 1.6, cmap: str | None = None, suptitle: str = ""):
    """A grid of images with optional titles. Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * bool(suptitle)))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i >= n:
            continue
        img = np.asarray(images[i])
        ax.imshow(img.squeeze(), cmap=cmap or ("gray" if img.ndim == 2 or img.shape[-1] == 1 else None))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def bar_compare(labels: Sequence[str], ours: Sequence[float], source: Sequence[float | None] | None = None,
                ylabel: str = "accuracy", title: str = ""):
    """Grouped bars: this course's values beside the source's (None = not reported)."""
    import matplotlib.pyplot as plt

    x = np.arange(len(labels))
    width = 0.38 if source is not None else 0.6
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(labels)), 3.8))
    ax.bar(x - (width / 2 if source is not None else 0), ours, width, label="this course")
    if source is not None:
        vals = [np.nan if v is None else v for v in source]
        ax.bar(x + width / 2, vals, width, label="source", color=PALETTE[5])
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
