"""Weight files of the real architectures with random weights, in the real file formats.

For tests and the benchmark only: they exercise the download, hash and loading
plumbing and measure run time without the real (unobtainable offline) weights.
Accuracy measured with them means nothing.
"""

from __future__ import annotations

from pathlib import Path


def write_legacy_h5(model, path: str | Path) -> Path:
    """Save ``model``'s weights in the Keras 2 HDF5 layout that keras.applications and DeepFace ship."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def keras_application(constructor: str, path: str | Path, size: int = 224, seed: int = 0) -> Path:
    """A ``keras.applications`` no-top weight file (``VGG16``, ``EfficientNetB0``...) with random weights."""
    import keras

    keras.utils.set_random_seed(seed)
    model = getattr(keras.applications, constructor)(include_top=False, weights=None, input_shape=(size, size, 3))
    out = write_legacy_h5(model, path)
    keras.backend.clear_session()
    return out
