"""Every figure helper of the book, in one style.

Call :func:`use_style` once (``start_chapter`` does not, so that helpers stay
importable without matplotlib); the notebooks call it in their imports cell.
Training curves, image grids and bar comparisons; decision boundaries,
confusion matrices, misclassified images and feature maps; Grad-CAM overlays
(the maps themselves come from :mod:`helpers.gradcam`); the five RNN shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PALETTE", "use_style", "plot_history", "show_images", "bar_compare", "boundary_grid",
           "plot_decision_boundary", "misclassified_indices", "plot_confusion", "show_misclassified",
           "show_feature_maps", "overlay_heatmap", "plot_grad_cam", "RNNShape", "RNN_SHAPES", "draw_rnn_shapes"]

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


# --------------------------------------------------------------------------- decision boundaries, confusion, feature maps

def boundary_grid(x: np.ndarray, steps: int = 200, margin: float = 0.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid covering the 2-D points ``x`` plus ``margin`` on each side.

    Returns ``(xx, yy, points)``: two ``(steps, steps)`` meshes and the
    ``(steps * steps, 2)`` array of grid points to feed a model.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected points of shape (n, 2), got {x.shape}")
    lo = x.min(axis=0) - margin
    hi = x.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                           y: np.ndarray, ax=None, title: str = "", steps: int = 150):
    """Shade P(class 1) of a binary classifier over the plane and draw its 0.5 contour.

    ``predict`` maps an ``(n, 2)`` array to ``n`` probabilities of class 1 (a
    Keras model's ``predict`` works: its ``(n, 1)`` output is flattened).
    Returns the axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    xx, yy, grid = boundary_grid(x, steps=steps)
    prob = np.asarray(predict(grid), dtype=float).reshape(xx.shape)
    ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    if prob.min() < 0.5 < prob.max():
        ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=1.2)
    y = np.asarray(y).ravel()
    for cls, colour in ((0, "#1f6feb"), (1, "#d1495b")):
        pts = x[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=8, c=colour, edgecolors="none", label=f"class {cls}")
    ax.set_xlabel("feature x1")
    ax.set_ylabel("feature x2")
    ax.set_title(title)
    return ax


def misclassified_indices(y_true: np.ndarray, y_pred: np.ndarray, n: int | None = None,
                          confidence: np.ndarray | None = None) -> np.ndarray:
    """Indices where ``y_pred != y_true``.

    With ``confidence`` (the predicted class's probability per example) the most
    confident mistakes come first; otherwise the order is the data order.
    At most ``n`` indices are returned (all when ``n`` is None).
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    idx = np.flatnonzero(y_true != y_pred)
    if confidence is not None:
        conf = np.asarray(confidence, dtype=float).ravel()
        idx = idx[np.argsort(-conf[idx], kind="stable")]
    return idx if n is None else idx[:n]


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], ax=None, normalize: bool = True,
                   title: str = "Confusion matrix"):
    """Draw a confusion matrix (rows = true class, columns = predicted class).

    With ``normalize`` each row is divided by its total, so the diagonal reads
    as per-class recall. Returns the axes.
    """
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=float)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    if ax is None:
        size = 0.55 * len(class_names) + 1.5
        _, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                       label="share of the true class" if normalize else "count")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.grid(False)
    thresh = 0.5 * (shown.max() if shown.size else 1)
    for i in range(shown.shape[0]):
        for j in range(shown.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > thresh else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax


def show_misclassified(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                       class_names: Sequence[str], n: int = 16, ncols: int = 8,
                       confidence: np.ndarray | None = None, title: str = "Misclassified images"):
    """A grid of up to ``n`` misclassified images titled ``true -> predicted``.

    Returns ``(figure, indices)``; the figure is None when nothing is misclassified.
    """
    from helpers import plots

    idx = misclassified_indices(y_true, y_pred, n=n, confidence=confidence)
    if idx.size == 0:
        return None, idx
    titles = [f"{class_names[int(y_true[i])]}\n-> {class_names[int(y_pred[i])]}" for i in idx]
    fig = plots.show_images([images[i] for i in idx], titles=titles, ncols=ncols, suptitle=title)
    return fig, idx


def show_feature_maps(maps: np.ndarray, n: int = 16, ncols: int = 8, title: str = "",
                      size: float = 1.3):
    """Show the first ``n`` channels of one feature map ``(height, width, channels)``.

    Each channel is scaled to its own range. Returns the figure.
    """
    import matplotlib.pyplot as plt

    maps = np.asarray(maps)
    if maps.ndim == 4:
        maps = maps[0]
    n = min(n, maps.shape[-1])
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4))
    for k, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if k < n:
            ax.imshow(maps[..., k], cmap="viridis")
            ax.set_title(f"ch {k}", fontsize=7)
    if title:
        fig.suptitle(f"{title} ({maps.shape[0]}x{maps.shape[1]} px per map)")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Grad-CAM overlays

def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
                    cmap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heat map (resized bilinearly) over a uint8/[0, 255] RGB image."""
    import matplotlib
    import tensorflow as tf

    img = np.asarray(image, dtype="float32")
    if img.max() <= 1.0:
        img = img * 255.0
    h, w = img.shape[:2]
    heat = tf.image.resize(np.asarray(heatmap, "float32")[..., None], (h, w)).numpy()[..., 0]
    colour = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3] * 255.0
    return np.clip((1 - alpha) * img + alpha * colour, 0, 255).astype("uint8")


def plot_grad_cam(images: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray],
                  titles: Sequence[str] | None = None, ncols: int = 4, suptitle: str = ""):
    """A grid of Grad-CAM overlays (image + heat map). Returns the figure."""
    overlays = [overlay_heatmap(img, hm) for img, hm in zip(images, heatmaps, strict=True)]
    return show_images(overlays, titles, ncols=ncols, size=2.2, suptitle=suptitle)


# --------------------------------------------------------------------------- RNN shapes

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
