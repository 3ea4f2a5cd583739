"""Known-answer tests for helpers.text (no data directory needed)."""

import numpy as np
import pytest

from helpers.text import (
    PAD,
    UNK,
    Vocabulary,
    WordVectors,
    document_tokens,
    embedding_matrix,
    split_sentences,
    tokenize,
)


@pytest.mark.parametrize("text, expected", [
    ("Great film! I loved it. Mr. Smith was superb.", ["Great film!", "I loved it.", "Mr. Smith was superb."]),
    ("Is it good? Yes... very good", ["Is it good?", "Yes...", "very good"]),
    ("I bought this printer.The ink ran out.", ["I bought this printer.", "The ink ran out."]),
    ('He said "wow." Then he left.', ['He said "wow."', "Then he left."]),
    ("J. R. R. Tolkien wrote it. e.g. this one.", ["J. R. R. Tolkien wrote it.", "e.g. this one."]),
    ("Made in the U.S.A. and sold in 3.5 days", ["Made in the U.S.A. and sold in 3.5 days"]),
    ("", []),
    ("   no end punctuation  ", ["no end punctuation"]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_tokenize_keeps_only_lowercase_alphabetic_words():
    assert tokenize("It's 10 times BETTER, don't you think? 'quoted' abc123 rock'n'roll") == [
        "it", "times", "better", "do", "you", "think", "quoted"]
    assert all(t.isascii() and t.isalpha() and t.islower() for t in tokenize("Ünïcode café x2 ok"))


def test_tokenize_keep_negation_turns_nt_into_not_and_leaves_the_default_alone():
    text = "Don't buy it. It isn't good, I can't stand it's noise; we'd rather not."
    assert tokenize(text) == ["do", "buy", "it", "it", "is", "good", "i", "ca", "stand", "it", "noise", "we",
                              "rather", "not"]
    assert tokenize(text, keep_negation=True) == [
        "do", "not", "buy", "it", "it", "is", "not", "good", "i", "ca", "not", "stand", "it", "noise", "we",
        "rather", "not"]
    assert tokenize("dont DON'T", keep_negation=True) == ["dont", "do", "not"]  # no apostrophe: one word
    assert tokenize("nothing new", keep_negation=True) == ["nothing", "new"]  # only the clitic n't


def test_document_tokens_drops_empty_sentences_and_truncates():
    assert document_tokens("One two. 123! Three four. Five.", max_sentences=2) == [["one", "two"], ["three", "four"]]


def test_vocabulary_rules():
    texts = ["good good good good good bad bad bad bad bad", "good bad rare rare rare rare", "ok"]
    vocab = Vocabulary.fit(texts, min_count=5)
    # good: 6, bad: 6 (tie -> alphabetical), rare: 4 (< 5, dropped), ok: 1
    assert vocab.words == ["<pad>", "<unk>", "bad", "good"]
    assert vocab.index["bad"] == 2 and vocab.index["good"] == 3
    assert vocab.lookup(["good", "rare", "bad"]) == [3, UNK, 2]
    assert len(Vocabulary.fit(texts, min_count=1)) == 6


def test_vocabulary_encode_post_padding_and_truncation():
    vocab = Vocabulary(["<pad>", "<unk>", "a", "b", "c"])
    grid = vocab.encode(["a b c d. c c. a.", "b " * 8 + ". a"], max_sentences=2, max_words=3)
    assert grid.shape == (2, 2, 3) and grid.dtype == np.int32
    np.testing.assert_array_equal(grid[0], [[2, 3, 4], [4, 4, PAD]])  # 'd' cut by max_words, 3rd sentence cut
    np.testing.assert_array_equal(grid[1], [[3, 3, 3], [2, PAD, PAD]])
    assert vocab.decode(grid[0]) == [["a", "b", "c"], ["c", "c"]]
    assert vocab.encode(["zzz unknown"], 1, 4).tolist() == [[[UNK, UNK, PAD, PAD]]]


def _toy_vectors():
    words = ["king", "queen", "man", "woman", "apple"]
    vectors = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1], [5, -5, 0]], dtype=np.float32)
    return words, vectors


def test_word_vectors_neighbours_and_analogy():
    wv = WordVectors(*_toy_vectors())
    assert wv.analogy("king", "man", "woman", k=1)[0][0] == "queen"  # (1,1,0)-(0,1,0)+(0,0,1) = (1,0,1)
    nearest = wv.nearest("man", k=2)
    assert nearest[0][0] == "king" and nearest[0][1] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    assert "man" not in [w for w, _ in wv.nearest("man", k=4)]


def test_embedding_matrix_rows_noise_and_coverage():
    words, vectors = _toy_vectors()
    vocab = Vocabulary(["<pad>", "<unk>", "queen", "zebra", "man", "qwerty"])
    m, cov = embedding_matrix(vocab, words, vectors, seed=3)
    assert m.shape == (6, 3) and m.dtype == np.float32
    assert cov == pytest.approx(0.5)  # queen, man of 4 real words
    np.testing.assert_array_equal(m[0], 0)
    np.testing.assert_array_equal(m[2], vectors[1])
    np.testing.assert_array_equal(m[4], vectors[2])
    assert not np.allclose(m[3], m[5])  # unknown words: mean + different noise
    assert np.allclose(m[3], vectors.mean(0), atol=3 * 0.3 * vectors.std(0).max())
    m2, _ = embedding_matrix(vocab, words, vectors, seed=3)
    np.testing.assert_array_equal(m, m2)  # seeded
    m0, _ = embedding_matrix(vocab, words, vectors, noise=0.0)
    np.testing.assert_allclose(m0[1], vectors.mean(0), rtol=1e-6)


# --------------------------------------------------------------------------- length_stats

from helpers.text import length_stats  # noqa: E402


def test_length_stats_known_answer() -> None:
    stats = length_stats([10, 20, 30, 40, 100, 200], cut=100, under=35)
    assert stats["n"] == 6
    assert stats["mean"] == pytest.approx(400 / 6)
    assert stats["median"] == pytest.approx(35.0)
    assert stats["max"] == 200
    assert stats["share_under"] == pytest.approx(3 / 6)
    assert stats["share_padded"] == pytest.approx(4 / 6)  # 10, 20, 30, 40
    assert stats["share_cut"] == pytest.approx(1 / 6)  # only 200 (100 fits exactly)
    assert stats["share_tokens_kept"] == pytest.approx(300 / 400)


def test_length_stats_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        length_stats([])
    with pytest.raises(ValueError):
        length_stats([3, -1])


def test_confident_mistakes_puts_the_surest_wrong_answers_first() -> None:
    from helpers.text import confident_mistakes

    texts = ["great film", "awful", "fine I guess", "a" * 400, "boring"]
    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.99, 0.1])  # wrong: 1 (0.8 positive), 2 (0.7 negative), 3 (0.99 positive)
    table = confident_mistakes(texts, y, p, n=2, chars=10)
    assert list(table.index) == [3, 1]
    assert list(table["true label"]) == ["negative", "negative"]
    assert list(table["confidence in the wrong answer"]) == [0.99, 0.8]
    assert table.loc[3, "review (start)"] == "a" * 10 + "..."
    assert len(confident_mistakes(texts, y, p)) == 3  # only the wrong ones, however large n
    with pytest.raises(ValueError, match="differ in length"):
        confident_mistakes(texts[:2], y, p)
