"""The "not a digit" gate: a small CNN that tells MNIST-style digits from MNIST-style
non-digits (synthetic letters, symbols, shapes and scribbles). It sees the same 28x28 image as
the digit model and outputs the probability that the image is not a digit."""

from __future__ import annotations

import itertools

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE
from digitrec.modeling.training import STEPS_PER_EXECUTION

GATE_EPOCHS = 3
GATE_BATCH = 256
# bfloat16 fits the gate 2.4x faster than float32 here (5 epochs: 23 s; 3 in bfloat16: 9.5 s)
# and still rejects >= 90% of photographed non-digits at <= 1% of digits (bench/RESULTS.md).
GATE_PRECISION = "mixed_bfloat16"
MAX_DIGITS_REJECTED = 0.006  # the threshold rejects at most this share of held-out digits


def build_gate(seed: int = 0, precision: str = "float32"):
    """Conv16-Pool-Conv32-Pool-Conv64-GlobalMax-Dense64-Dense(1, sigmoid) on pixels 0..255;
    with "mixed_bfloat16" its layers compute in bfloat16 (weights and output in float32).
    Every initializer draws from `seed` itself, not from the process's global random state,
    which another thread (an export loading a model) may be drawing from meanwhile."""
    import keras
    from keras import layers

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # read by each layer as it is created (per thread)
    try:
        return gate_layers(keras, layers, seed)
    finally:
        keras.config.set_dtype_policy(previous)


def gate_layers(keras, layers, seed: int):
    """The gate's graph under the current dtype policy, its weights initialised from `seed`."""
    seeds = itertools.count(seed * 10)

    def conv(filters: int):
        return layers.Conv2D(
            filters, 3, padding="same", activation="relu", kernel_initializer=init()
        )

    def init():  # Keras' default initializer, seeded per layer
        return keras.initializers.GlorotUniform(seed=next(seeds))

    inputs = keras.Input(IMAGE_SHAPE, name="pixels")
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.MaxPooling2D(2)(conv(16)(x))
    x = layers.MaxPooling2D(2)(conv(32)(x))
    x = layers.GlobalMaxPooling2D()(conv(64)(x))
    x = layers.Dense(64, activation="relu", kernel_initializer=init())(x)
    outputs = layers.Dense(
        1, activation="sigmoid", name="not_a_digit", dtype="float32", kernel_initializer=init()
    )(x)
    return keras.Model(inputs, outputs, name="gate")


def shuffled_batches(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int):
    """`epochs` passes over (images, labels) in batches, each pass in its own order drawn from
    `seed` with NumPy: no TensorFlow random op, whose seeds come from a process-wide counter
    that other threads advance."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(images)) for _ in range(epochs)])  # (E * N,)
    pixels = tf.constant(images.reshape(-1, *IMAGE_SHAPE))  # (N, 28, 28, 1) as given
    targets = tf.constant(labels, tf.float32)
    return (
        tf.data.Dataset.from_tensor_slices(order)
        .batch(GATE_BATCH)
        .map(lambda i: (tf.cast(tf.gather(pixels, i), tf.float32), tf.gather(targets, i)))
        .prefetch(tf.data.AUTOTUNE)
    )


def train_gate(
    digits: np.ndarray,
    nondigits: np.ndarray,
    seed: int = 0,
    epochs: int = GATE_EPOCHS,
    precision: str = GATE_PRECISION,
):
    """Fit the gate on digits (label 0) and non-digits (label 1), shuffled together; returned
    computing in float32, as it is scored, exported and served."""
    import keras

    images = np.concatenate([digits, nondigits])  # (N, 28, 28)
    labels = np.concatenate([np.zeros(len(digits)), np.ones(len(nondigits))])
    model = build_gate(seed, precision)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    model.fit(shuffled_batches(images, labels, epochs, seed), shuffle=False, verbose=0)
    if precision == "float32":
        return model
    twin = build_gate(seed)  # float32 layers, the same (float32) weights
    twin.set_weights(model.get_weights())
    return twin


def gate_scores(model, images: np.ndarray) -> np.ndarray:
    """P(not a digit) per image (N,) from a Keras gate."""
    return np.asarray(model.predict(model_input(images), batch_size=1024, verbose=0))[:, 0]


def threshold_for(digit_scores: np.ndarray, max_rejected: float = MAX_DIGITS_REJECTED) -> float:
    """The lowest threshold that rejects at most `max_rejected` of these (held-out) digits."""
    if not len(digit_scores):
        raise ValueError("choosing a threshold needs held-out digit scores")
    return float(np.quantile(digit_scores, 1.0 - max_rejected, method="higher")) + 1e-6
