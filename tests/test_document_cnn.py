"""Known-answer tests for helpers.document_cnn: k-max pooling, weight transfer, save/load."""

import numpy as np
import pytest

from helpers.document_cnn import (
    KMaxPooling,
    build_document_model,
    document_encoder,
    embedding_shift,
    transfer_weights,
    update_embeddings,
)
from helpers.text import Vocabulary


def test_kmax_pooling_keeps_k_largest_in_original_order():
    x = np.array([[[1, 9], [5, 1], [3, 8], [7, 2], [2, 7]]], dtype=np.float32)  # (1, steps 5, channels 2)
    out = np.asarray(KMaxPooling(3)(x))
    # channel 0: largest 7, 5, 3 in order of occurrence -> 5, 3, 7; channel 1: 9, 8, 7
    np.testing.assert_array_equal(out, [[[5, 9], [3, 8], [7, 7]]])
    np.testing.assert_array_equal(np.asarray(KMaxPooling(1)(x)), x.max(axis=1, keepdims=True))
    x4 = np.stack([x, x[:, ::-1]], axis=1)  # (1, 2 sentences, 5, 2): works on any leading axes
    assert np.asarray(KMaxPooling(2)(x4)).shape == (1, 2, 2, 2)
    assert KMaxPooling(2).compute_output_shape((None, 10, 26, 30)) == (None, 10, 2, 30)


def test_update_embeddings_counts_hand_built_example():
    target_vocab = Vocabulary(["<pad>", "<unk>", "good", "bad", "film", "plot"])
    source_vocab = Vocabulary(["<pad>", "<unk>", "bad", "printer", "good"])
    target = np.zeros((6, 2), dtype=np.float32)
    source = np.arange(10, dtype=np.float32).reshape(5, 2)
    n = update_embeddings(target, target_vocab, source, source_vocab)
    assert n == 2  # good, bad; pad/unk are never copied
    np.testing.assert_array_equal(target[2], source[4])
    np.testing.assert_array_equal(target[3], source[2])
    np.testing.assert_array_equal(target[[0, 1, 4, 5]], 0)
    assert update_embeddings(target.copy(), ["<pad>", "<unk>", "x"], source, {"y": 2}) == 0


def test_embedding_shift_ranks_moved_words():
    before = np.zeros((4, 2))
    after = np.array([[9, 9], [9, 9], [1, 0], [3, 4]], dtype=float)
    assert embedding_shift(before, after, ["<pad>", "<unk>", "a", "b"], top=2) == [("b", 5.0), ("a", 1.0)]


def _tiny(**kw):
    return build_document_model(30, embedding_dim=8, max_sentences=6, max_words=8, word_filters=4,
                                word_kernel=3, sentence_filters=3, sentence_kernel=3, **kw)


def test_document_model_shapes_and_embedding_init():
    emb = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    model = _tiny(embeddings=emb)
    np.testing.assert_array_equal(model.get_layer("embedding").get_weights()[0], emb)
    x = np.random.default_rng(1).integers(0, 30, size=(5, 6, 8)).astype(np.int32)
    assert model.predict(x, verbose=0).shape == (5, 1)
    assert document_encoder(model).predict(x, verbose=0).shape == (5, 3 * 4)  # sentence_k x filters
    full = build_document_model(100)
    assert full.get_layer("document_embedding").output.shape[-1] == 64  # 4 x 16, as in the source


def test_transfer_weights_copies_all_but_embedding():
    a, b = _tiny(input_dropout=0.4), _tiny()
    copied = transfer_weights(a, b)
    assert set(copied) == {"word_conv", "sentence_conv", "hidden", "output"}
    for name in copied:
        for wa, wb in zip(a.get_layer(name).get_weights(), b.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)
    assert not np.allclose(a.get_layer("embedding").get_weights()[0], b.get_layer("embedding").get_weights()[0])


def test_saved_model_loads_back_and_predicts_the_same(tmp_path):
    keras = pytest.importorskip("keras")
    model = _tiny()
    x = np.random.default_rng(2).integers(0, 30, size=(7, 6, 8)).astype(np.int32)
    model.fit(x, np.arange(7) % 2, epochs=1, verbose=0)
    path = tmp_path / "doc.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("word_kmax"), KMaxPooling)
    assert loaded.get_layer("sentence_kmax").k == 4
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_word_conv_is_one_conv1d_per_sentence():
    """The 1 x k Conv2D over (batch, sentences, words, dim) equals a Conv1D applied to each sentence alone."""
    keras = pytest.importorskip("keras")
    model = _tiny(activation="tanh")
    layer = model.get_layer("word_conv")
    kernel, bias = layer.get_weights()
    assert kernel.shape == (1, 3, 8, 4)  # 1 sentence x 3 words, 8-d embeddings -> 4 filters
    x = np.random.default_rng(3).normal(size=(2, 6, 8, 8)).astype(np.float32)  # (batch, sentences, words, dim)
    conv1d = keras.layers.Conv1D(4, 3, activation="tanh")
    conv1d.build((None, 8, 8))
    conv1d.set_weights([kernel[0], bias])
    expected = np.stack([np.asarray(conv1d(x[:, s])) for s in range(6)], axis=1)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)
    # by hand: sentence 0, first window = words 0-2 of that sentence only
    by_hand = np.tanh(np.einsum("wd,wdf->f", x[0, 0, :3], kernel[0]) + bias)
    np.testing.assert_allclose(np.asarray(layer(x))[0, 0, 0], by_hand, rtol=1e-5, atol=1e-6)
