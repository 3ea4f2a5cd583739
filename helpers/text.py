"""Text preprocessing for the document model (chapter 07) and GloVe word vectors.

Preprocessing follows the source's book code: reviews are split into sentences,
sentences into lower-case word tokens that match ``^[a-z]+$``; words seen at
least ``min_count`` times in the *training* split form the vocabulary, index
0 is padding, 1 unknown, real words start at 2; each document becomes a
``(max_sentences, max_words)`` grid of word indices, padded and truncated at the
end ("post").

The sentence splitter is rule based (the source used NLTK's punkt, which needs
a separate download): a sentence ends at ``.``, ``!`` or ``?`` (optionally
followed by closing quotes or brackets) before white space or before a capital
letter glued to a lower-case word (``fast.I would``), except after a few common
abbreviations and single-letter initials.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "length_stats",
    "PAD", "UNK", "PAD_TOKEN", "UNK_TOKEN", "ABBREVIATIONS", "split_sentences", "tokenize", "document_tokens",
    "Vocabulary", "WordVectors", "embedding_matrix", "confident_mistakes",
]

PAD, UNK = 0, 1
PAD_TOKEN, UNK_TOKEN = "<pad>", "<unk>"

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp",
    "vol", "fig", "approx", "dept", "mt", "ft", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "u.s", "u.k", "a.m", "p.m",
})

# end punctuation, closing quotes/brackets, then white space or a glued capital
_BOUNDARY = re.compile(r"[.!?]+[\"'\)\]]*(?:\s+|(?=[A-Z][a-z ]))")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_CLITIC = re.compile(r"n't\b|'(?:s|re|ve|ll|d|m)\b")
_NEGATION = re.compile(r"n't\b")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with simple, tested rules (no download).

    >>> split_sentences("Great film! I loved it. Mr. Smith was superb.")
    ['Great film!', 'I loved it.', 'Mr. Smith was superb.']
    """
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        chunk = text[start:m.start()]
        glued = not text[m.start():end].endswith((" ", "\n", "\t", "\r")) and end < len(text)
        word = _LAST_WORD.search(chunk)
        last = word.group(1) if word else ""
        if text[m.start()] == ".":
            if last.lower().rstrip(".") in ABBREVIATIONS:
                continue  # "Mr. Smith", "e.g. this"
            if (len(last) == 1 and last.isupper()) or "." in last:
                continue  # initials "J. R. R. Tolkien", dotted abbreviations "U.S.A."
            if glued and not (chunk[-1:].islower()):
                continue  # "U.S.A" or "3.5": no lower-case word before the glued capital
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def tokenize(sentence: str, keep_negation: bool = False) -> list[str]:
    """Lower-case word tokens of ``sentence`` that match ``^[a-z]+$``.

    Clitics are split off as NLTK does and then dropped (they are not
    alphabetic): ``don't`` -> ``do``, ``it's`` -> ``it``. Tokens with digits or
    inner apostrophes are dropped. This default (the source's book code, and
    chapter 07's vocabulary) loses negation: "Don't buy it." -> ``do buy it``.
    With ``keep_negation=True`` the clitic ``n't`` becomes the word ``not``
    instead (``don't`` -> ``do not``, ``can't`` -> ``ca not``, as NLTK splits
    it); the other clitics are still dropped.

    >>> tokenize("It's 10 times BETTER, don't you think?")
    ['it', 'times', 'better', 'do', 'you', 'think']
    >>> tokenize("Don't buy it.", keep_negation=True)
    ['do', 'not', 'buy', 'it']
    """
    lowered = sentence.lower()
    if keep_negation:
        lowered = _NEGATION.sub(" not ", lowered)
    lowered = _CLITIC.sub(" ", lowered)
    return [t for t in _TOKEN.findall(lowered) if t.isalpha()]


def document_tokens(text: str, max_sentences: int | None = None) -> list[list[str]]:
    """Sentences of ``text`` as token lists; sentences without tokens are dropped."""
    out: list[list[str]] = []
    for sentence in split_sentences(text):
        tokens = tokenize(sentence)
        if tokens:
            out.append(tokens)
            if max_sentences is not None and len(out) >= max_sentences:
                break
    return out


@dataclass
class Vocabulary:
    """Word <-> index maps: 0 = padding, 1 = unknown, words from 2 (most frequent first)."""

    words: list[str]
    counts: dict[str, int] = field(default_factory=dict, repr=False)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.words[:2] != [PAD_TOKEN, UNK_TOKEN]:
            self.words = [PAD_TOKEN, UNK_TOKEN] + [w for w in self.words if w not in (PAD_TOKEN, UNK_TOKEN)]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def fit(cls, texts: Iterable[str], min_count: int = 5) -> Vocabulary:
        """Count tokens of ``texts`` (the training split only) and keep those seen ``min_count`` times.

        Ties in frequency are broken alphabetically, so the result is deterministic.
        """
        counter: Counter[str] = Counter()
        for text in texts:
            counter.update(tokenize(text))
        kept = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        return cls([PAD_TOKEN, UNK_TOKEN] + [w for w, _ in kept], dict(kept))

    def __len__(self) -> int:
        return len(self.words)

    def lookup(self, tokens: Sequence[str]) -> list[int]:
        """Indices of ``tokens`` (``UNK`` for unknown words)."""
        get = self.index.get
        return [get(t, UNK) for t in tokens]

    def encode(self, texts: Sequence[str], max_sentences: int = 10, max_words: int = 30) -> np.ndarray:
        """An ``int32`` array ``(len(texts), max_sentences, max_words)``; post padding and truncation."""
        out = np.zeros((len(texts), max_sentences, max_words), dtype=np.int32)
        for d, text in enumerate(texts):
            for s, tokens in enumerate(document_tokens(text, max_sentences)):
                ids = self.lookup(tokens[:max_words])
                out[d, s, :len(ids)] = ids
        return out

    def decode(self, grid: np.ndarray) -> list[list[str]]:
        """Words of one encoded document, sentence by sentence (padding dropped)."""
        return [[self.words[i] for i in row if i != PAD] for row in np.asarray(grid) if np.any(row)]


class WordVectors:
    """Pretrained word vectors with cosine nearest neighbours and analogies."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.unit = self.vectors / np.maximum(norms, 1e-8)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def nearest(self, query: str | np.ndarray, k: int = 8, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The ``k`` words with the highest cosine similarity to ``query`` (a word or a vector)."""
        if isinstance(query, str):
            skip = {query, *exclude}
            vec = self.unit[self.index[query]]
        else:
            skip = set(exclude)
            vec = np.asarray(query, dtype=np.float32)
            vec = vec / max(float(np.linalg.norm(vec)), 1e-8)
        sims = self.unit @ vec
        order = np.argpartition(-sims, min(k + len(skip), len(sims) - 1))[:k + len(skip)]
        order = order[np.argsort(-sims[order])]
        return [(self.words[i], float(sims[i])) for i in order if self.words[i] not in skip][:k]

    def analogy(self, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
        """Words nearest to ``a - b + c`` (``king - man + woman``), the three inputs excluded."""
        vec = self.unit[self.index[a]] - self.unit[self.index[b]] + self.unit[self.index[c]]
        return self.nearest(vec, k=k, exclude=(a, b, c))


def embedding_matrix(vocab: Vocabulary | Sequence[str], words: Sequence[str], vectors: np.ndarray,
                     seed: int = 0, noise: float = 0.3) -> tuple[np.ndarray, float]:
    """Initial embedding matrix for ``vocab`` from pretrained ``words``/``vectors``.

    Row 0 (padding) is zero; a word found in ``words`` gets its vector; every other
    row (the unknown token too) gets the mean vector plus Gaussian noise with
    ``noise`` times the per-dimension standard deviation (seeded). Returns the
    ``float32`` matrix and the coverage: the share of real words (index >= 2) found.
    """
    vocab_words = vocab.words if isinstance(vocab, Vocabulary) else list(vocab)
    vectors = np.asarray(vectors, dtype=np.float32)
    lookup = words if isinstance(words, Mapping) else {w: i for i, w in enumerate(words)}
    mean, std = vectors.mean(axis=0), vectors.std(axis=0)
    rng = np.random.default_rng(seed)
    matrix = (mean + noise * std * rng.standard_normal((len(vocab_words), vectors.shape[1]))).astype(np.float32)
    rows = np.array([i for i, w in enumerate(vocab_words) if i >= 2 and w in lookup], dtype=np.int64)
    if rows.size:
        matrix[rows] = vectors[[lookup[vocab_words[i]] for i in rows]]
    matrix[PAD] = 0.0
    n_real = max(len(vocab_words) - 2, 1)
    return matrix, rows.size / n_real


def length_stats(lengths: Sequence[int] | np.ndarray, cut: int = 100,
                 under: int = 300) -> dict[str, float]:
    """Summarise sequence lengths (in tokens) before padding or cutting to ``cut``.

    Returns n, mean, median, p90, max, ``share_under`` (share of sequences
    shorter than ``under`` tokens), ``share_padded`` (shorter than ``cut``, so
    they get padding), ``share_cut`` (longer than ``cut``, so they lose tokens)
    and ``share_tokens_kept`` (share of all tokens that survive the cut).
    """
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.size == 0:
        raise ValueError("length_stats needs at least one length")
    if (arr < 0).any():
        raise ValueError("lengths must be non-negative")
    total = arr.sum()
    return {
        "n": int(arr.size),
        "mean": float(arr.mean()),
        "median": float(np.median(arr)),
        "p90": float(np.percentile(arr, 90)),
        "max": int(arr.max()),
        "share_under": float((arr < under).mean()),
        "share_padded": float((arr < cut).mean()),
        "share_cut": float((arr > cut).mean()),
        "share_tokens_kept": float(np.minimum(arr, cut).sum() / total) if total else 1.0,
    }


def confident_mistakes(texts: Sequence[str], y_true: np.ndarray, p_positive: np.ndarray, n: int = 5,
                       chars: int = 300):
    """The ``n`` wrong predictions the model was surest of, as a table of review excerpts.

    ``p_positive`` is the predicted probability of label 1 (positive) per text,
    thresholded at 0.5. Columns: the true label, the predicted probability of
    *positive*, the model's confidence in its wrong answer, and the first
    ``chars`` characters of the review. The index is the text's position.
    """
    import pandas as pd

    y_true, p = np.asarray(y_true).ravel(), np.asarray(p_positive, dtype=float).ravel()
    if not len(texts) == len(y_true) == len(p):
        raise ValueError(f"texts ({len(texts)}), y_true ({len(y_true)}) and p_positive ({len(p)}) differ in length")
    pred = (p > 0.5).astype(int)
    wrong = np.flatnonzero(pred != y_true)
    confidence = np.where(pred == 1, p, 1 - p)
    top = wrong[np.argsort(-confidence[wrong], kind="stable")][:n]
    names = {0: "negative", 1: "positive"}
    return pd.DataFrame({
        "true label": [names[int(y_true[i])] for i in top],
        "P(positive)": p[top].round(3),
        "confidence in the wrong answer": confidence[top].round(3),
        "review (start)": [texts[i][:chars] + ("..." if len(texts[i]) > chars else "") for i in top],
    }, index=pd.Index(top, name="test review"))
