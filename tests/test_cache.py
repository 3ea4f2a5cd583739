"""The one cache module: content keys, atomic writes, checked reads, and the caches built on it."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from helpers import cache, vision


def test_content_key_changes_when_a_file_changes(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"one")
    k1 = cache.content_key([f], "model")
    assert cache.content_key([f], "model") == k1
    f.write_bytes(b"two!")
    os.utime(f, ns=(1, 1))
    assert cache.content_key([f], "model") != k1
    assert cache.content_key([f], "other model") != cache.content_key([f], "model")


def test_a_truncated_entry_is_a_miss_with_a_warning_naming_it(tmp_path):
    path = tmp_path / "x.npy"
    cache.save_array(path, np.ones((3, 2), np.float32))
    assert cache.load_array(path, (3, 2), np.float32) is not None
    path.write_bytes(path.read_bytes()[:40])
    with pytest.warns(cache.CacheWarning, match=str(path)):
        assert cache.load_array(path, (3, 2)) is None


def test_wrong_shape_or_nan_is_a_miss(tmp_path):
    path = tmp_path / "x.npy"
    cache.save_array(path, np.ones((3, 2), np.float32))
    with pytest.warns(cache.CacheWarning, match="shape"):
        assert cache.load_array(path, (4, 2)) is None
    np.save(path, np.array([np.nan], np.float32))
    with pytest.warns(cache.CacheWarning, match="non-finite"):
        assert cache.load_array(path) is None
    with pytest.raises(ValueError, match="non-finite"):
        cache.save_array(path, np.array([np.inf]))


def test_a_failed_write_leaves_no_entry(tmp_path):
    path = tmp_path / "x.npy"

    def boom(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        cache.atomic_write(path, boom)
    assert list(tmp_path.iterdir()) == []


def test_cache_dir_setting_wins(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert cache.cache_dir("features") == tmp_path / "elsewhere" / "features"
    monkeypatch.delenv(cache.CACHE_DIR_ENV)
    assert cache.cache_dir("features") == data_dir / "cache" / "features"


def test_cached_images_notice_a_changed_image(tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(paths[-1])
    first, hit = vision.cached_images(paths, (4, 4), "t", tmp_path / "c")
    assert not hit and vision.cached_images(paths, (4, 4), "t", tmp_path / "c")[1]
    Image.new("RGB", (8, 8), (255, 255, 255)).save(paths[0])
    os.utime(paths[0], ns=(10**9, 10**9))
    again, hit = vision.cached_images(paths, (4, 4), "t", tmp_path / "c")
    assert not hit and again[0].min() == 255


def test_cached_features_depend_on_the_model_weights(tmp_path):
    import keras
    from PIL import Image

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (8, 8), (i * 40, 10, 0)).save(paths[-1])
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    f1, hit = vision.cached_features(base, lambda x: x / 255.0, paths, "m", tmp_path / "f", progress=False)
    assert not hit
    assert vision.cached_features(base, lambda x: x / 255.0, paths, "m", tmp_path / "f", progress=False)[1]
    base.set_weights([w + 1.0 for w in base.get_weights()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, hit = vision.cached_features(base, lambda x: x / 255.0, paths, "m", tmp_path / "f", progress=False)
    assert not hit
