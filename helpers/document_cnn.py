"""The convolutional document model of chapter 07 (after Denil et al., 2014) and transfer tools.

Word embeddings -> a word-level ``Conv1D`` shared by every sentence -> k-max
pooling -> sentence vectors -> a sentence-level ``Conv1D`` -> k-max pooling ->
a 64-d document embedding -> noise/dropout -> ``Dense(64, relu)`` ->
``Dense(1, sigmoid)``. The source's book code sliced each sentence with a
``Lambda`` inside a Python loop; here the shared convolution is applied to all
sentences at once: a ``Conv2D`` with a ``1 x word_kernel`` kernel over the
``(batch, sentences, words, dim)`` tensor slides along the words of each
sentence and never across sentences, which is the same arithmetic as one
``Conv1D`` per sentence. The model has no closures and saves to ``.keras``.
(``TimeDistributed(Conv1D)`` computes the same, but Keras 3 runs it as a Python
loop over the sentences: a training step took 74-80 against 50 ms here.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from helpers.config import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

__all__ = ["KMaxPooling", "build_document_model", "document_encoder", "transfer_weights",
           "update_embeddings", "embedding_shift"]


@keras.saving.register_keras_serializable(package="tlbook")
class KMaxPooling(layers.Layer):
    """Keep the ``k`` largest values of every channel along the steps axis, in their original order.

    Input ``(..., steps, channels)``, output ``(..., k, channels)`` (Kalchbrenner
    et al., 2014). With ``k = 1`` it is global max pooling.
    """

    def __init__(self, k: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.k = int(k)

    def call(self, inputs):
        x = ops.swapaxes(inputs, -1, -2)  # (..., channels, steps)
        _, idx = ops.top_k(x, self.k, sorted=True)
        idx = ops.sort(idx, axis=-1)  # keep the order in which the values occur
        return ops.swapaxes(ops.take_along_axis(x, idx, axis=-1), -1, -2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-2], self.k, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k}


def build_document_model(vocab_size: int, embedding_dim: int = 50, embeddings: np.ndarray | None = None,
                         max_sentences: int = 10, max_words: int = 30, word_filters: int = 30,
                         word_kernel: int = 5, word_k: int = 3, sentence_filters: int = 16,
                         sentence_kernel: int = 5, sentence_k: int = 4, activation: str = "tanh",
                         input_dropout: float = 0.0, noise: float = 0.5, dropout: float = 0.0,
                         hidden: int = 64, learning_rate: float = 1e-3, name: str = "document_cnn",
                         jit_compile: bool = False, run_eagerly: bool = False) -> keras.Model:
    """The compiled document model (binary sentiment, RMSprop, binary cross-entropy).

    ``embeddings`` initialises the (trainable) embedding layer, e.g. GloVe rows.
    Layer names are fixed (``embedding``, ``word_conv``, ``sentence_conv``,
    ``hidden``, ``output``, ...) so that weights can be copied between two
    models built with the same arguments. XLA (``jit_compile``) is off by
    default: on a CPU its compile time outweighs the gain for short runs;
    ``run_eagerly`` skips graph tracing, which is faster for tiny smoke runs.
    """
    if embeddings is not None:
        vocab_size, embedding_dim = embeddings.shape
    inputs = keras.Input((max_sentences, max_words), dtype="int32", name="word_ids")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    if input_dropout:
        x = layers.Dropout(input_dropout, name="input_dropout")(x)
    # one convolution shared by all sentences: (batch, S, W, D) -> (batch, S, W - kernel + 1, filters);
    # the 1 x kernel window never crosses from one sentence into the next
    x = layers.Conv2D(word_filters, (1, word_kernel), activation=activation, name="word_conv")(x)
    x = KMaxPooling(word_k, name="word_kmax")(x)  # (batch, S, word_k, filters)
    x = layers.Reshape((max_sentences, word_k * word_filters), name="sentence_vectors")(x)
    x = layers.Conv1D(sentence_filters, sentence_kernel, activation=activation, name="sentence_conv")(x)
    x = KMaxPooling(sentence_k, name="sentence_kmax")(x)  # (batch, sentence_k, sentence_filters)
    x = layers.Flatten(name="document_embedding")(x)  # 4 x 16 = 64-d
    if noise:
        x = layers.GaussianNoise(noise, name="noise")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs, name=name)
    if embeddings is not None:  # set, not a Constant initializer: keeps the saved config small
        model.get_layer("embedding").set_weights([np.asarray(embeddings, dtype="float32")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile, run_eagerly=run_eagerly)
    return model


def document_encoder(model: keras.Model) -> keras.Model:
    """A model from word ids to the 64-d document embedding of ``model``."""
    return keras.Model(model.input, model.get_layer("document_embedding").output)


def transfer_weights(source: keras.Model, target: keras.Model, skip: Sequence[str] = ("embedding",),
                     ) -> list[str]:
    """Copy the weights of every same-named layer (except ``skip``) from ``source`` to ``target``.

    Returns the names of the layers copied. Shapes must match.
    """
    copied = []
    names = {layer.name for layer in source.layers}
    for layer in target.layers:
        if layer.name in skip or layer.name not in names or not layer.weights:
            continue
        layer.set_weights(source.get_layer(layer.name).get_weights())
        copied.append(layer.name)
    return copied


def _as_index(vocab) -> Mapping[str, int]:
    if isinstance(vocab, Mapping):
        return vocab
    words = getattr(vocab, "words", vocab)
    return {w: i for i, w in enumerate(words)}


def update_embeddings(target_matrix: np.ndarray, target_vocab, source_matrix: np.ndarray, source_vocab,
                      ) -> int:
    """Copy ``source_matrix[source_vocab[w]]`` into ``target_matrix[target_vocab[w]]`` in place.

    Every real word (index >= 2, so padding and unknown stay) of the target
    vocabulary that the source vocabulary also holds (index >= 2) is updated.
    The vocabularies are :class:`helpers.text.Vocabulary` objects, word lists in
    index order or ``{word: index}`` maps. Returns the number of rows updated.
    """
    src = _as_index(source_vocab)
    pairs = [(ti, src[w]) for w, ti in _as_index(target_vocab).items() if ti >= 2 and src.get(w, 0) >= 2]
    if not pairs:
        return 0
    t_rows, s_rows = map(np.asarray, zip(*pairs, strict=True))
    target_matrix[t_rows] = np.asarray(source_matrix)[s_rows]
    return len(pairs)


def embedding_shift(before: np.ndarray, after: np.ndarray, words: Sequence[str], top: int = 15,
                    ) -> list[tuple[str, float]]:
    """The ``top`` words (index >= 2) whose vectors moved most (Euclidean distance), largest first."""
    dist = np.linalg.norm(np.asarray(after) - np.asarray(before), axis=1)
    dist[:2] = -np.inf
    order = np.argsort(-dist)[:top]
    return [(words[i], float(dist[i])) for i in order]
