"""The saved text model that takes raw strings: its in-graph encoding is ``Vocabulary.encode``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import raw_text
from helpers.text import UNK, Vocabulary

HARD_CASES = [
    "Great film! I loved it. Mr. Smith was superb.",
    "I bought this printer two years ago.It was noisy from the start! Mr. Smith at the store said it's fine. "
    "Don't buy it.",
    "J. R. R. Tolkien wrote it. The U.S. release was cut. Then Dr. No came out.",
    "It was boring, and more importantly dull.....Dull.  There is far too much talking.",
    "It was silly (i.e.. Philip Seymour Hoffman's character). The last 60 minutes were long.",
    "Lock Stock etc......." + '" Hannah was likeable in "Sliding Doors". In "Circus" nothing.',
    "Bartelby .B. Gaines is a guy. He has plans.",
    "It's 10 times BETTER, don't you think? Rock'n'roll isn't dead!Really.",
    "water renegades?\x85we saw it.\xa0Then we left.",
    "What?!Amazing. \"Quoted.\" (Bracketed.) End",
    "",
    "no punctuation at all just words and more words",
    " ".join(f"Sentence {i} has exactly these words in it." for i in range(14)),
    "One " + "very " * 40 + "long sentence. Short one.",
    "Café naïve ÉCOLE words. Ünïcode ok.",
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.fit(HARD_CASES * 5, min_count=5)


@pytest.fixture(scope="module")
def identity_model():
    """A 'model' whose output is a function of every cell of the grid, so any encoding difference shows."""
    import keras

    inputs = keras.Input((10, 30), dtype="int32")
    weights = np.arange(1, 301, dtype="float32").reshape(1, 10, 30)
    out = keras.layers.Lambda(lambda x: keras.ops.sum(keras.ops.cast(x, "float32") * weights, axis=(1, 2))[:, None])(inputs)
    return keras.Model(inputs, out)


def test_graph_encoding_equals_python_encoding_on_hard_cases(vocab, identity_model):
    raw = raw_text.RawReviewModel(identity_model, vocab)
    graph = raw.encode(HARD_CASES)
    python = vocab.encode(HARD_CASES)
    for text, g, p in zip(HARD_CASES, graph, python, strict=True):
        assert np.array_equal(g, p), (text, vocab.decode(p), vocab.decode(g))
    assert raw_text.agreement(python, graph) == 1.0
    assert graph.dtype == np.int32 and graph.shape == (len(HARD_CASES), 10, 30)


def test_unknown_words_and_truncation(vocab, identity_model):
    raw = raw_text.RawReviewModel(identity_model, vocab)
    grid = raw.encode(["zyxwv qqq. " * 3])[0]
    assert grid[0, 0] == UNK and grid[0, 1] == UNK and grid[3:].sum() == 0
    long = raw.encode([HARD_CASES[12]])[0]  # 14 sentences: kept 10
    assert (long.sum(axis=1) > 0).sum() == 10


def test_agreement_counts_identical_documents_and_checks_shapes():
    a = np.zeros((4, 2, 3), dtype=np.int32)
    b = a.copy()
    b[1, 0, 0] = 5
    assert raw_text.agreement(a, b) == 0.75
    with pytest.raises(ValueError, match="different shapes"):
        raw_text.agreement(a, b[:2])


def test_exported_model_takes_raw_strings_and_loads_without_course_code(tmp_path, vocab):
    import keras

    from helpers.document_cnn import build_document_model

    keras.utils.set_random_seed(0)
    model = build_document_model(len(vocab), max_sentences=10, max_words=30, name="tiny")
    texts = HARD_CASES[:6]
    expected = model.predict(vocab.encode(texts), verbose=0)
    path = tmp_path / "raw_model"
    raw = raw_text.export_raw_model(model, vocab, path)
    np.testing.assert_allclose(raw(texts), expected, atol=1e-5)
    code = ("import json, sys, tensorflow as tf\n"
            f"m = tf.saved_model.load({str(path)!r})\n"
            f"p = m(tf.constant({json.dumps(texts)})).numpy().ravel().tolist()\n"
            "assert not [k for k in sys.modules if k == 'helpers' or k.startswith('helpers.')], 'course code imported'\n"
            "print(json.dumps(p))\n")
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(loaded, expected.ravel(), atol=1e-5)
