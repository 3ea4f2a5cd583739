"""The one image reader: upright, size-limited, and errors that name the file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import images
from helpers.images import ImageReadError, read_rgb


def _photo(path, size=(40, 20), orientation: int | None = None):
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2] = 255          # left half white
    img = Image.fromarray(arr)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img.save(path, "JPEG", exif=exif.tobytes())
    return path


def test_exif_rotated_phone_photo_is_read_upright(tmp_path):
    plain = read_rgb(_photo(tmp_path / "a.jpg"))
    rotated = read_rgb(_photo(tmp_path / "b.jpg", orientation=6))     # "rotate 90 CW to display"
    assert plain.shape == (20, 40, 3) and rotated.shape == (40, 20, 3)


def test_resize_and_max_side(tmp_path):
    path = _photo(tmp_path / "a.jpg", size=(400, 200))
    assert read_rgb(path, (10, 12)).shape == (10, 12, 3)
    assert max(read_rgb(path, max_side=100).shape[:2]) == 100


@pytest.mark.parametrize("content", [b"", b"just some text, not a picture", None])
def test_unreadable_files_name_the_file(tmp_path, content):
    path = tmp_path / "bad.jpg"
    if content is None:              # a truncated JPEG
        data = _photo(tmp_path / "good.jpg", size=(200, 200)).read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as err:
        read_rgb(path)
    assert str(path) in str(err.value) and "replace or remove it" in str(err.value)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        read_rgb(_photo(tmp_path / "a.jpg"))
