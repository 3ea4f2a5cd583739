"""helpers.config: profiles, the data directory and seeds."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import config
from helpers.config import ProfileError, resolve_profile


@pytest.fixture
def no_profile_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    return monkeypatch


def test_default_profile_is_lab(no_profile_env):
    assert resolve_profile() == "lab"
    assert resolve_profile(None) == "lab"


def test_env_beats_default(no_profile_env):
    no_profile_env.setenv(config.PROFILE_ENV, "smoke")
    assert resolve_profile() == "smoke"


def test_empty_env_means_default(no_profile_env):
    no_profile_env.setenv(config.PROFILE_ENV, "")
    assert resolve_profile() == "lab"


def test_parameter_beats_env(no_profile_env):
    no_profile_env.setenv(config.PROFILE_ENV, "smoke")
    assert resolve_profile("full") == "full"


@pytest.mark.parametrize("name,expected", [("SMOKE", "smoke"), ("Lab", "lab"), (" full ", "full")])
def test_profile_names_are_case_insensitive(no_profile_env, name, expected):
    assert resolve_profile(name) == expected


def test_bad_profile_parameter_lists_valid_names(no_profile_env):
    with pytest.raises(ProfileError) as info:
        resolve_profile("fast")
    msg = str(info.value)
    assert "'fast'" in msg
    for name in ("smoke", "lab", "full"):
        assert name in msg
    assert "PROFILE parameter" in msg
    assert isinstance(info.value, ValueError)


def test_bad_profile_from_env_names_the_variable(no_profile_env):
    no_profile_env.setenv(config.PROFILE_ENV, "huge")
    with pytest.raises(ProfileError, match=r"'huge'.*TLBOOK_PROFILE.*smoke, lab, full"):
        resolve_profile()


def test_data_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "nested" / "data"
    monkeypatch.setenv(config.DATA_DIR_ENV, str(target))
    assert config.data_dir(create=False) == target.resolve()
    assert not target.exists()
    assert config.data_dir() == target.resolve()
    assert target.is_dir()


def test_data_dir_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(config.DATA_DIR_ENV, "~/tl-data")
    assert config.data_dir() == (tmp_path / "tl-data").resolve()


def test_data_dir_default_is_platform_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import platformdirs

    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = Path(platformdirs.user_cache_dir(config.APP_NAME)).resolve()
    assert config.data_dir(create=False) == expected
    assert expected.name == "tlbook"
    if expected.is_relative_to(tmp_path):  # Linux: XDG_CACHE_HOME is honoured
        assert expected == (tmp_path / "cache" / "tlbook").resolve()
        assert config.data_dir() == expected and expected.is_dir()


def test_set_seed_reproduces_python_and_numpy():
    config.set_seed(123)
    a = (random.random(), np.random.rand(4))
    config.set_seed(123)
    b = (random.random(), np.random.rand(4))
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    config.set_seed(124)
    assert not np.array_equal(np.random.rand(4), a[1])


def test_set_seed_reproduces_keras():
    keras = pytest.importorskip("keras")
    config.set_seed(7)
    first = keras.ops.convert_to_numpy(keras.random.uniform((5,)))
    layer_a = keras.layers.Dense(3)
    layer_a.build((None, 4))
    config.set_seed(7)
    second = keras.ops.convert_to_numpy(keras.random.uniform((5,)))
    layer_b = keras.layers.Dense(3)
    layer_b.build((None, 4))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer_a.kernel),
                                  keras.ops.convert_to_numpy(layer_b.kernel))
    config.set_seed(8)
    assert not np.array_equal(keras.ops.convert_to_numpy(keras.random.uniform((5,))), first)


def test_a_relative_data_dir_is_taken_from_the_checkout(monkeypatch: pytest.MonkeyPatch):
    checkout = Path(config.__file__).resolve().parent.parent
    monkeypatch.setenv(config.DATA_DIR_ENV, "some/rel-data")
    monkeypatch.chdir(checkout / "notebooks")  # where papermill and JupyterLab run
    assert config.data_dir(create=False) == (checkout / "some" / "rel-data").resolve()


@pytest.mark.parametrize("value, message", [
    ("   ", "is blank: unset it"),
    ("FILE", "is a file, not a folder: set TLBOOK_DATA_DIR to a folder"),
    ("FILE/below", "cannot be created: .* Set TLBOOK_DATA_DIR to a writable folder"),
])
def test_a_bad_data_dir_names_the_variable_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       value: str, message: str):
    (tmp_path / "FILE").write_text("not a folder")
    monkeypatch.setenv(config.DATA_DIR_ENV, value.replace("FILE", str(tmp_path / "FILE")))
    with pytest.raises(config.DataDirError, match=message) as err:
        config.data_dir()
    assert "TLBOOK_DATA_DIR" in str(err.value)


def test_use_onednn_turns_it_on_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(config.ONEDNN_ENV, raising=False)
    assert config.use_onednn() is True
    assert os.environ[config.ONEDNN_ENV] == "1"
    monkeypatch.setenv(config.ONEDNN_ENV, "0")  # the learner's own choice wins
    assert config.use_onednn() is False
    assert os.environ[config.ONEDNN_ENV] == "0"


def test_importing_helpers_before_tensorflow_runs_onednn_kernels():
    """The notebooks import helpers first; TensorFlow then runs oneDNN's kernels even on an AVX2 CPU."""
    code = ("import helpers, os\n"
            "from helpers.config import onednn_status\n"
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], onednn_status())\n")
    env = {k: v for k, v in os.environ.items() if k != config.ONEDNN_ENV}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(config.__file__).resolve().parent.parent))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "on"]
