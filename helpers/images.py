"""The one image reader every chapter uses: EXIF orientation applied, size-limited, errors that name the file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

__all__ = ["ImageReadError", "read_rgb", "MAX_PIXELS"]

MAX_PIXELS = 80_000_000
"""Larger images are refused (a decompression bomb); a 40-megapixel phone photo is well below."""


class ImageReadError(ValueError):
    """An image file cannot be decoded; the message names the file and what to do."""


def read_rgb(path: str | Path, size: tuple[int, int] | None = None, max_side: int | None = None) -> np.ndarray:
    """Read ``path`` as ``HxWx3`` uint8 RGB, upright (EXIF orientation applied).

    ``size=(h, w)`` resizes bilinearly; ``max_side`` shrinks a large photo while
    decoding (JPEG draft mode) so that its longer side is at most ``max_side``.
    Raises :class:`ImageReadError` naming the file for a truncated, corrupt or
    non-image file, or one over :data:`MAX_PIXELS`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings():  # the size is judged below, against MAX_PIXELS
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageReadError(f"{path}: {img.width}x{img.height} pixels is more than the {MAX_PIXELS:,} "
                                     "allowed (a decompression bomb?): shrink the image or remove it.")
            if max_side and img.format == "JPEG" and max(img.size) > 2 * max_side:
                img.draft("RGB", (max_side, max_side))
            img = ImageOps.exif_transpose(img).convert("RGB")
            if max_side and max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.BILINEAR)
            if size is not None:
                img = img.resize((size[1], size[0]), Image.BILINEAR)
            return np.asarray(img)
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"{path}: cannot be read as an image ({exc.__class__.__name__}: {exc}). "
                             "It is truncated, corrupt or not an image: replace or remove it.") from exc
