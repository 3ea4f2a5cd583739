"""Helpers for *Transfer Learning, Hands-On*: data, profiles, plots and plumbing.

The code a learner studies (models, training loops, result plots) lives in the
notebooks; this package holds the plumbing they share.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any TensorFlow import

from helpers import config  # noqa: E402
from helpers.chapter import Chapter, ModelChoice, start_chapter  # noqa: E402
from helpers.config import PROFILES, data_dir, resolve_profile, set_seed  # noqa: E402

config.point_model_homes()  # before Keras is imported: its downloads go to the data directory
config.use_onednn()  # before TensorFlow is imported: oneDNN's CPU kernels, off by default on AVX2 CPUs

if "ipykernel" in sys.modules:  # in a notebook: keep TensorFlow's start-up lines off the page
    config.import_tensorflow_quietly()

__version__ = "0.1.0"
__all__ = ["PROFILES", "data_dir", "resolve_profile", "set_seed", "ModelChoice", "Chapter",
           "start_chapter", "__version__"]
