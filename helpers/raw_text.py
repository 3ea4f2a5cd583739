"""A saved text model that takes raw review strings (chapter 07).

:meth:`helpers.text.Vocabulary.encode` turns a review into the document
model's ``(max_sentences, max_words)`` grid of word indices in Python. A model
saved alone therefore needs this course's code before it can read a review.
:class:`RawReviewModel` puts the same preprocessing, written in TensorFlow
string ops, in front of the trained model, so that the exported SavedModel maps
raw strings to ``P(positive)`` and loads with TensorFlow alone::

    m = tf.saved_model.load(path)
    m(tf.constant(["A moving film."]))          # (1, 1) probabilities

The string ops follow :func:`helpers.text.split_sentences` and
:func:`helpers.text.tokenize` rule by rule: the abbreviations, initials and dotted
words that do not end a sentence, a full stop glued to a capital (``fast.I``),
the clitics that are dropped, the tokens with digits or inner apostrophes that
are dropped, empty sentences dropped, then truncation and post padding. RE2,
TensorFlow's regex engine, has no look-ahead and an ASCII-only ``\\b``, so
rare inputs can still differ (for example ``n't`` directly before a non-ASCII
letter). :func:`agreement` measures how often the two encodings match.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.text import ABBREVIATIONS, PAD, UNK, Vocabulary

__all__ = ["RawReviewModel", "encode_in_graph", "export_raw_model", "agreement"]

# two private-use characters (not white space, unlike control characters, for Python's re):
_KEEP = "\ue000"  # a full stop that does not end a sentence (restored afterwards)
_CUT = "\ue001"  # a sentence boundary
# Python's Unicode white space (RE2's \s is ASCII only)
_SPACE = (r"[\t\n\v\f\r \x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
          r"\x{202f}\x{205f}\x{3000}]+")
_ABBREV = "|".join(sorted((a.replace(".", r"\.") for a in ABBREVIATIONS), key=len, reverse=True))
_BEFORE_WORD = r"(^|[^A-Za-z])"  # where the last word before a full stop starts (helpers.text._LAST_WORD)
_DOTS = r"\.[.!?]*"  # the end punctuation that starts with a full stop (its dots make no token)
_CLOSE = "[\"')\\]]*"  # closing quotes or brackets after the end punctuation


def _sentences(texts):
    """Ragged ``(batch, sentences)`` strings: :func:`helpers.text.split_sentences` in TF ops."""
    import tensorflow as tf

    t = tf.convert_to_tensor(texts, dtype=tf.string)
    rr = tf.strings.regex_replace
    # full stops that do not end a sentence: "Mr.", "etc.", initials "J."
    t = rr(t, _BEFORE_WORD + "((?i:" + _ABBREV + "))" + _DOTS, "\\1\\2" + _KEEP)
    t = rr(t, _BEFORE_WORD + "([A-Z])" + _DOTS, "\\1\\2" + _KEEP)
    # boundaries glued to a capital that starts a word: after a lower-case letter for ".", always for "!" / "?"
    t = rr(t, r"([a-z]\.[.!?]*" + _CLOSE + r")([A-Z][a-z ])", "\\1" + _CUT + "\\2")
    t = rr(t, r"([!?][.!?]*" + _CLOSE + r")([A-Z][a-z ])", "\\1" + _CUT + "\\2")
    # dotted words ("U.S.", "Ph.D."), within the current sentence
    t = rr(t, _BEFORE_WORD + "([A-Za-z][A-Za-z." + _KEEP + "]*[." + _KEEP + "][A-Za-z." + _KEEP + "]*[A-Za-z])" + _DOTS,
           "\\1\\2" + _KEEP)
    # boundaries before white space
    t = rr(t, r"([.!?]+" + _CLOSE + ")" + _SPACE, "\\1" + _CUT)
    t = rr(t, _KEEP, ".")
    return tf.strings.split(t, _CUT)


def _tokens(sentences):
    """Ragged word tokens of every sentence: :func:`helpers.text.tokenize` in TF ops."""
    import tensorflow as tf

    rr = tf.strings.regex_replace
    s = tf.strings.lower(sentences, encoding="utf-8")
    s = rr(s, r"n't\b|'(?:s|re|ve|ll|d|m)\b", " ")  # clitics, dropped
    s = rr(s, r"[a-z0-9]+(?:'[a-z0-9]+)+", " ")  # tokens with inner apostrophes: not alphabetic, dropped
    s = rr(s, r"[^a-z0-9]+", " ")
    words = tf.strings.split(s)
    return tf.ragged.boolean_mask(words, tf.strings.regex_full_match(words, "[a-z]+"))  # no digits


def encode_in_graph(texts, table, max_sentences: int = 10, max_words: int = 30):
    """``(batch, max_sentences, max_words)`` int32 grids of raw ``texts``, as ``Vocabulary.encode``.

    ``table`` maps a word to its index (``UNK`` by default), e.g.
    :meth:`RawReviewModel.table`. TensorFlow ops only, so it can be saved.
    """
    import tensorflow as tf

    sentences = _sentences(texts)  # (batch, sentences)
    words = _tokens(sentences.flat_values)  # (all sentences, words)
    words = tf.RaggedTensor.from_row_lengths(words, sentences.row_lengths())  # (batch, sentences, words)
    has_words = words.with_values(words.values.row_lengths() > 0)
    words = tf.ragged.boolean_mask(words, has_words)  # sentences without tokens are dropped
    ids = tf.cast(table.lookup(words.flat_values), tf.int32)
    ids = words.with_flat_values(ids)[:, :max_sentences, :max_words]
    return ids.to_tensor(default_value=PAD, shape=[None, max_sentences, max_words])


class RawReviewModel:
    """Raw review strings in, ``P(positive)`` out: the in-graph encoding, then the trained ``model``.

    Built lazily as a ``tf.Module`` (see :meth:`module`), so importing this file
    does not import TensorFlow.
    """

    def __init__(self, model, vocab: Vocabulary, max_sentences: int = 10, max_words: int = 30) -> None:
        import tensorflow as tf

        class _Module(tf.Module):
            def __init__(self) -> None:
                super().__init__(name="raw_review_model")
                self.model = model
                words = list(vocab.words[2:])
                self.table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(tf.constant(words, tf.string),
                                                        tf.range(2, 2 + len(words), dtype=tf.int64)),
                    default_value=UNK)

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def encode(self, texts):
                return encode_in_graph(texts, self.table, max_sentences, max_words)

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def __call__(self, texts):
                return self.model(self.encode(texts), training=False)

        self.module = _Module()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 1)`` probabilities."""
        import tensorflow as tf

        return np.asarray(self.module(tf.constant(list(texts), tf.string)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The grids the model sees (the same as ``vocab.encode(texts)`` up to :func:`agreement`)."""
        import tensorflow as tf

        return np.asarray(self.module.encode(tf.constant(list(texts), tf.string)))


def export_raw_model(model, vocab: Vocabulary, path: str | Path, max_sentences: int = 10,
                     max_words: int = 30) -> RawReviewModel:
    """Save a SavedModel at ``path`` (a folder) that takes raw strings; returns the in-memory model.

    Load it anywhere with ``tf.saved_model.load(path)`` and call it on a 1-D
    string tensor; its ``encode`` function returns the word-index grids.
    """
    import tensorflow as tf

    raw = RawReviewModel(model, vocab, max_sentences, max_words)
    tf.saved_model.save(raw.module, str(path))
    return raw


def agreement(python_grids: np.ndarray, graph_grids: np.ndarray) -> float:
    """Share of documents whose two grids (Python and in-graph encoding) are identical."""
    a, b = np.asarray(python_grids), np.asarray(graph_grids)
    if a.shape != b.shape:
        raise ValueError(f"grids of different shapes: {a.shape} vs {b.shape}")
    return float(np.mean(np.all(a.reshape(len(a), -1) == b.reshape(len(b), -1), axis=1))) if len(a) else 1.0
