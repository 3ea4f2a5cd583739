"""Profiles, the data directory, seeds and a quiet TensorFlow.

Every notebook resolves its settings through this module so that the same
notebook runs in seconds under tests (``smoke``), in minutes in a classroom
(``lab``) and at source scale on a GPU (``full``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

__all__ = [
    "PROFILES", "DEFAULT_PROFILE", "PROFILE_ENV", "DATA_DIR_ENV", "APP_NAME", "ProfileError",
    "DataDirError", "resolve_profile", "data_dir", "point_model_homes", "use_onednn", "onednn_status", "quiet_tensorflow",
    "import_tensorflow_quietly", "set_seed",
]

PROFILES: tuple[str, ...] = ("smoke", "lab", "full")
DEFAULT_PROFILE = "lab"
PROFILE_ENV = "TLBOOK_PROFILE"
DATA_DIR_ENV = "TLBOOK_DATA_DIR"
APP_NAME = "tlbook"


class ProfileError(ValueError):
    """Raised for a profile name that is not one of :data:`PROFILES`."""


class DataDirError(ValueError):
    """``TLBOOK_DATA_DIR`` names a folder that cannot be used."""


def resolve_profile(profile: str | None = None) -> str:
    """Return the profile to use.

    An explicit ``profile`` (the notebook's papermill parameter) wins; ``None``
    means: read ``TLBOOK_PROFILE``, else ``lab``. Names are case-insensitive.
    """
    source = "PROFILE parameter"
    if profile is None:
        profile = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        source = f"${PROFILE_ENV}" if os.environ.get(PROFILE_ENV) else "default"
    name = str(profile).strip().lower()
    if name not in PROFILES:
        raise ProfileError(
            f"Unknown profile {profile!r} (from {source}). "
            f"Valid profiles: {', '.join(PROFILES)}. "
            "smoke = seconds on synthetic data, lab = real data in minutes on a CPU, "
            "full = source scale (GPU advised)."
        )
    return name


def data_dir(create: bool = True) -> Path:
    """Return the course data directory.

    ``TLBOOK_DATA_DIR`` if set, else the platform's user cache directory
    (for example ``~/.cache/tlbook`` on Linux). A relative ``TLBOOK_DATA_DIR``
    is taken relative to the course checkout (so ``make data`` and a notebook
    running in ``notebooks/`` agree), or rejected outside a checkout. A value
    that is blank, names a file, or cannot be created raises :class:`DataDirError`.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env is not None and env != "":
        if not env.strip():
            raise DataDirError(f"{DATA_DIR_ENV}={env!r} is blank: unset it (the user cache dir is used) "
                               "or set it to a folder.")
        path = Path(env.strip()).expanduser()
        if not path.is_absolute():
            checkout = Path(__file__).resolve().parent.parent
            if not (checkout / "_config.yml").is_file():
                raise DataDirError(f"{DATA_DIR_ENV}={env!r} is a relative path; set an absolute path.")
            path = checkout / path
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir(APP_NAME))
    source = DATA_DIR_ENV if env else "the default user cache dir"
    if path.exists() and not path.is_dir():
        raise DataDirError(f"The data directory {path} (from {source}) is a file, not a folder: "
                           f"set {DATA_DIR_ENV} to a folder (it is created if missing).")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"The data directory {path} (from {source}) cannot be "
                               f"created: {exc.strerror or exc}. Set {DATA_DIR_ENV} to a writable folder.") from exc
    return path.resolve()


def point_model_homes() -> None:
    """Keep every library's downloads in the data directory: ``KERAS_HOME`` and ``DEEPFACE_HOME``.

    ``<data dir>/keras`` and ``<data dir>/deepface`` unless the variables are
    already set; the registry's weight entries live there too, so an instructor
    copies one folder. Must run before Keras is imported (Keras reads
    ``KERAS_HOME`` once); :mod:`helpers` calls it on import.
    """
    try:
        root = data_dir(create=False)
    except DataDirError:
        return  # reported when the data directory is first used
    os.environ.setdefault("KERAS_HOME", str(root / "keras"))
    os.environ.setdefault("DEEPFACE_HOME", str(root / "deepface"))


ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def use_onednn() -> bool:
    """Turn on TensorFlow's oneDNN CPU kernels unless ``TF_ENABLE_ONEDNN_OPTS`` is already set.

    TensorFlow 2.21 turns them on by itself only on CPUs with AVX-512 VNNI, BF16
    or AMX. On an AVX2 CPU (most laptops and this course's 2-core test machine)
    it leaves them off, and chapter 02's CNN then trains at half the speed:
    177 against 89 ms a step here. Results differ from the Eigen kernels' only
    in rounding. Set ``TF_ENABLE_ONEDNN_OPTS=0`` to keep them off. Must run
    before ``import tensorflow`` (read once); :mod:`helpers` calls it on import.
    Returns whether oneDNN is requested.
    """
    value = os.environ.setdefault(ONEDNN_ENV, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def onednn_status() -> str:
    """``"on"`` or ``"off"``: whether the imported TensorFlow runs oneDNN's CPU kernels; ``"unknown"`` if it cannot say."""
    import tensorflow as tf  # noqa: F401 - the flag is read when TensorFlow starts

    try:
        from tensorflow.python.util import _pywrap_util_port  # private, and the only place TensorFlow says it
    except ImportError:  # pragma: no cover - a TensorFlow without the module
        return "unknown"
    return "on" if _pywrap_util_port.IsMklEnabled() else "off"


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and Python start-up logging.

    Must run before ``import tensorflow`` to silence the C++ side fully; it is
    harmless afterwards.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    warnings.filterwarnings("ignore", message=".*oneDNN.*")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines (oneDNN, CUDA probes) hidden.

    TensorFlow 2.21 writes those lines to file descriptor 2 before its logging is
    configured, so ``TF_CPP_MIN_LOG_LEVEL`` cannot stop them; this function points
    descriptor 2 at ``/dev/null`` for the duration of the import only.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    quiet_tensorflow()
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs on first use: do it now
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    quiet_tensorflow()


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and (if importable) TensorFlow/Keras in one call."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    try:
        quiet_tensorflow()
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # pragma: no cover - TensorFlow is a hard requirement
        pass
