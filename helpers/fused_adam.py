"""Keras's Adam with each weight's update done by one fused TensorFlow kernel.

``keras.optimizers.Adam`` updates a weight with about ten separate element-wise
operations (the two moment averages, the square root, the division, ...), each
a pass over the whole weight. On a CPU with little memory bandwidth that is
most of a training step for a wide dense layer: chapter 06's MLP has a
4,096 x 512 first layer. TensorFlow's ``ResourceApplyAdam`` kernel does the same
update in one pass. The formula is Keras's own (``tests/test_fused_adam.py``
checks the weights after 60 steps against ``keras.optimizers.Adam``); the
rounding differs in the last bits, so a long noisy run (dropout, 140 steps of
chapter 06's MLP) ends as far from Keras's as two runs with different thread
counts do, not at the same weights:

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

Only the TensorFlow backend has the kernel, and only plain Adam (no AMSGrad,
no weight decay, no gradient accumulation) is fused; anything else falls back
to Keras's own update.
"""

from __future__ import annotations

import keras

__all__ = ["FusedAdam"]


class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (same arguments, same update), one fused kernel per weight."""

    def update_step(self, gradient, variable, learning_rate):  # noqa: D102 - Keras's own hook
        import tensorflow as tf

        if self.amsgrad or keras.backend.backend() != "tensorflow" or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype), use_locking=False)
        return None
