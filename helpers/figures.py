"""Figures for the Part I chapters: decision boundaries, confusion matrices,
misclassified examples and feature maps.

The notebooks keep the models and training visible; these functions only draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["boundary_grid", "plot_decision_boundary", "misclassified_indices",
           "plot_confusion", "show_misclassified", "show_feature_maps"]


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
