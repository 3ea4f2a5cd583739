"""Tests for helpers.backbones and helpers.pretrained: SqueezeNet, the records, the one substitution policy.

The policy is tested against a real HTTP server on 127.0.0.1 playing the official hosts through
``TLBOOK_MIRROR``; weight files are small stand-ins whose hashes are put into the registry for the test.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from helpers import backbones, pretrained, registry
from helpers.chapter import banner
from helpers.download import DatasetChecksumError, file_hash

WEIGHTS_NAME = "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _weights_file() -> Path | None:
    env = os.environ.get("TLBOOK_DATA_DIR")
    if not env:
        return None
    path = Path(env) / "models" / WEIGHTS_NAME
    return path if path.is_file() else None


needs_weights = pytest.mark.skipif(_weights_file() is None,
                                   reason=f"needs $TLBOOK_DATA_DIR/models/{WEIGHTS_NAME}")


def _fixed_image(size: int = 227) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([xx / (size - 1) * 255, yy / (size - 1) * 255, (xx + yy) % 64 * 4], -1)
    return img.astype("float32")[None]


# --------------------------------------------------------------------------- SqueezeNet

def test_squeezenet_architecture_random_init():
    model = backbones.squeezenet((227, 227, 3))
    assert model.output_shape == (None, 13, 13, 512)
    assert model.count_params() == 722_496  # SqueezeNet v1.1 conv layers, no classifier
    assert model.get_layer("fire2_squeeze1x1").kernel.shape == (1, 1, 64, 16)
    assert model.get_layer("fire9_expand3x3").kernel.shape == (3, 3, 64, 256)
    assert backbones.squeezenet_layer_name("fire2/squeeze1x1") == "fire2_squeeze1x1"


def test_load_weights_rejects_shape_mismatch(tmp_path):
    import h5py

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv1"]
        f.create_dataset("conv1/uniform1", data=np.zeros((3, 3, 3, 32), "float32"))
        f.create_dataset("conv1/conv1_b", data=np.zeros((32,), "float32"))
    with pytest.raises(ValueError, match="conv1"):
        backbones.squeezenet(weights=path)


@pytest.mark.data
@needs_weights
def test_squeezenet_real_weights_layer_shapes():
    import h5py

    path = _weights_file()
    model = backbones.squeezenet(weights=path)
    loaded = backbones.load_squeezenet_weights(model, path)
    assert len(loaded) == 1 + 8 * 3  # conv1 and squeeze/expand1x1/expand3x3 of fire2..fire9
    with h5py.File(path, "r") as f:
        kernels = {}
        f.visititems(lambda n, o: kernels.__setitem__(n.rsplit("/", 1)[0], np.asarray(o))
                     if isinstance(o, h5py.Dataset) and o.ndim == 4 else None)
    assert len(kernels) == 25
    for h5_name, kernel in kernels.items():
        layer = model.get_layer(backbones.squeezenet_layer_name(h5_name))
        assert tuple(layer.kernel.shape) == kernel.shape, h5_name
        np.testing.assert_array_equal(np.asarray(layer.kernel), kernel)
    assert model.get_layer("fire9_expand3x3").kernel.shape == (3, 3, 64, 256)


@pytest.mark.data
@needs_weights
def test_squeezenet_known_answer_features():
    model = backbones.squeezenet(weights=_weights_file())
    feats = np.asarray(model(backbones.caffe_preprocess(_fixed_image()), training=False))[0]
    assert feats.shape == (13, 13, 512)
    pooled = feats.mean(axis=(0, 1))
    # computed once with TF 2.21 / Keras 3.15 on CPU (see the test's image)
    np.testing.assert_allclose(pooled[[2, 4]], [2.0741153, 0.11157845], rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(pooled.mean(), 0.94649535, rtol=2e-3)
    assert int(pooled.argmax()) == 303
    np.testing.assert_allclose(pooled.max(), 38.811234, rtol=2e-3)
    assert list(np.argsort(pooled)[-5:]) == [178, 405, 186, 227, 303]


def test_caffe_preprocess_flips_and_centres():
    x = np.zeros((1, 1, 1, 3), "float32")
    x[..., 0] = 10.0  # red
    out = backbones.caffe_preprocess(x.copy())
    np.testing.assert_allclose(out[0, 0, 0], [-103.939, -116.779, 10.0 - 123.68], atol=1e-3)



# --------------------------------------------------------------------------- records

def test_every_record_is_complete_and_its_weights_are_registered():
    for key, rec in backbones.BACKBONES.items():
        assert rec.key == key
        assert rec.weights in registry.REGISTRY, key
        assert rec.lab_size <= rec.native and rec.smoke_size < rec.lab_size
        assert rec.head_input in ("flatten", "avg")
        assert not rec.substitute or rec.substitute in backbones.BACKBONES
    assert backbones.backbone("vgg16-random").key == "vgg16"
    with pytest.raises(KeyError, match="known: vgg16"):
        backbones.backbone("resnet")


def test_split_backbone_recomposes():
    base = backbones.squeezenet((99, 99, 3))
    bottom, top = backbones.split_backbone(base, backbones.BACKBONES["squeezenet"].fine_tune_split)
    x = np.random.default_rng(0).uniform(-50, 50, (2, 99, 99, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(top(bottom(x))), np.asarray(base(x)), rtol=1e-5, atol=1e-5)
    assert {layer.name for layer in top.layers if layer.weights} == {
        "fire9_squeeze1x1", "fire9_expand1x1", "fire9_expand3x3"}


def test_fine_tune_split_depends_on_the_profile_only_where_a_lab_cut_is_set():
    vgg, squeeze = backbones.BACKBONES["vgg16"], backbones.BACKBONES["squeezenet"]
    assert vgg.fine_tune_split_for("full") == "block4_pool"      # the source: all of block 5
    assert vgg.fine_tune_split_for("lab") == "block5_conv2"      # lab: block5_conv3 only
    assert vgg.fine_tune_split_for("smoke") == "block5_conv2"
    assert {squeeze.fine_tune_split_for(p) for p in ("smoke", "lab", "full")} == {"fire8_concat"}
    with pytest.raises(ValueError, match="profile"):
        vgg.fine_tune_split_for("fast")


def test_every_records_layers_exist_in_its_architecture():
    import keras

    for rec in backbones.BACKBONES.values():
        if rec.constructor == "squeezenet":
            model = backbones.squeezenet((rec.native, rec.native, 3))
        else:
            model = getattr(keras.applications, rec.constructor)(include_top=False, weights=None,
                                                                 input_shape=(rec.native, rec.native, 3))
        for name in (rec.fine_tune_split, *rec.probe_layers, *filter(None, [rec.lab_fine_tune_split])):
            model.get_layer(name)  # raises ValueError for a wrong name
        keras.backend.clear_session()


# --------------------------------------------------------------------------- the policy, through a mirror

@pytest.fixture
def mirror(http_server, monkeypatch, fast_downloads):
    """TLBOOK_MIRROR -> the loopback server; ``put(entry, data)`` serves a file at the entry's official path."""
    monkeypatch.setenv(registry.MIRROR_ENV, http_server.url)

    def put(name: str, data: bytes, register_hash: bool = True) -> None:
        e = registry.REGISTRY[name]
        rel = e.urls[0].split("://", 1)[1]
        target = http_server.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if register_hash:
            digest = "sha256:" + file_hash(target)
            monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(e, known_hash=digest))

    return put


def _place(data_dir: Path, name: str, data: bytes, monkeypatch) -> Path:
    """Put a stand-in file where an entry lives and register its hash."""
    e = registry.REGISTRY[name]
    path = data_dir / e.target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(e, known_hash="sha256:" + file_hash(path)))
    return path


def test_real_model_is_downloaded_in_lab(mirror, data_dir, http_server):
    mirror("vgg16_notop", b"vgg16 weights stand-in" * 100)
    choice = backbones.choose_backbone("vgg16", "lab", data_dir)
    assert not choice.substituted and choice.key == "vgg16" and not choice.random_weights
    assert choice.paths == (data_dir / "keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",)
    assert choice.paths[0].read_bytes().startswith(b"vgg16 weights")
    assert any("storage.googleapis.com/tensorflow/keras-applications/vgg16/" in r for r in http_server.requests)


def test_smoke_never_downloads(mirror, data_dir, http_server):
    mirror("vgg16_notop", b"x" * 100)
    choice = backbones.choose_backbone("vgg16", "smoke", data_dir)
    assert choice.random_weights and choice.used == "SqueezeNet v1.1 (ImageNet) (random weights)"
    assert http_server.requests == []
    assert "RANDOM WEIGHTS" in banner(choice)


def test_lab_falls_back_with_a_banner_that_says_how_to_get_the_real_one(mirror, data_dir, monkeypatch):
    _place(data_dir, "squeezenet_weights", b"squeezenet stand-in", monkeypatch)
    choice = backbones.choose_backbone("vgg16", "lab", data_dir)     # the server has no VGG16 file: 404
    assert choice.substituted and choice.key == "squeezenet" and choice.paths
    text = banner(choice)
    assert text.startswith("!!!") and "SUBSTITUTE MODEL for backbone" in text
    assert "downloading it failed" in text
    assert "make data PROFILE=lab" in text
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in text and str(data_dir / "keras" / "models") in text


def test_full_never_substitutes_and_says_where_to_put_the_file(mirror, data_dir, monkeypatch):
    _place(data_dir, "squeezenet_weights", b"squeezenet stand-in", monkeypatch)
    with pytest.raises(pretrained.ModelUnavailableError) as err:
        backbones.choose_backbone("vgg16", "full", data_dir)
    msg = str(err.value)
    assert "never substitutes" in msg and "make data" in msg
    assert "storage.googleapis.com/tensorflow/keras-applications/vgg16/" in msg
    assert str(data_dir / "keras" / "models") in msg


def test_lab_with_neither_model_names_both(mirror, data_dir):
    with pytest.raises(pretrained.ModelUnavailableError) as err:
        backbones.choose_backbone("vgg16", "lab", data_dir)
    msg = str(err.value)
    assert "VGG16" in msg and "SqueezeNet" in msg and "make data" in msg


def test_a_damaged_real_file_is_an_error_not_a_substitute(data_dir, monkeypatch):
    path = _place(data_dir, "vgg16_notop", b"good", monkeypatch)
    path.write_bytes(b"damaged")
    with pytest.raises(DatasetChecksumError, match="delete it"):
        backbones.choose_backbone("vgg16", "lab", data_dir)


def test_timing_only_builds_the_real_architecture_with_random_weights():
    choice = backbones.choose_backbone("vgg16-random", "lab")
    assert choice.random_weights and "TIMING ONLY" in banner(choice)
    base, pre = backbones.load_backbone(choice, (64, 64, 3))
    assert base.count_params() == 14_714_688 and base.output_shape[1:] == (2, 2, 512)


def test_ladder_skips_with_the_reason(mirror, data_dir):
    out = backbones.ladder_backbones(("efficientnetb0",), "lab", data_dir)
    assert isinstance(out["efficientnetb0"], str) and "EfficientNetB0" in out["efficientnetb0"]


def test_load_backbone_random_squeezenet():
    choice = backbones.choose_backbone("squeezenet-random", "smoke")
    base, pre = backbones.load_backbone(choice, (99, 99, 3))
    assert base.output_shape[-1] == 512 and pre is backbones.caffe_preprocess


def test_vgg16_loads_keras_weight_files_of_the_real_format(tmp_path):
    """A VGG16 no-top file written by Keras (random weights, the real h5 format) loads into the record's build."""
    import keras

    from tools.random_weights import write_legacy_h5

    src = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = write_legacy_h5(src, tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    choice = dataclasses.replace(pretrained.timing_only("backbone", backbones.BACKBONES["vgg16"].as_weights()),
                                 random_weights=False, paths=(path,))
    base, _ = backbones.load_backbone(choice, (32, 32, 3))
    np.testing.assert_array_equal(base.get_layer("block5_conv3").get_weights()[0],
                                  src.get_layer("block5_conv3").get_weights()[0])


@pytest.mark.parametrize("key", sorted(backbones.BACKBONES))
def test_preprocessing_layer_matches_the_preprocess_function(key):
    """The layer a saved model carries does what the notebooks' preprocess function does."""
    import keras

    record = backbones.BACKBONES[key]
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype("float32")
    expected = np.asarray(record.preprocess_fn()(x.copy()))
    layer = record.preprocessing_layer()
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-3)
    model = keras.Sequential([keras.Input((5, 7, 3)), layer])
    assert not model.trainable_weights, "the preprocessing must not train"
