"""The "not a digit" gate: a small CNN that tells MNIST-style digits from MNIST-style
non-digits (synthetic letters, symbols, shapes and scribbles). It sees the same 28x28 image as
the digit model and outputs the probability that the image is not a digit."""

from __future__ import annotations

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE

GATE_EPOCHS = 5
GATE_BATCH = 256
MAX_DIGITS_REJECTED = 0.006  # the threshold rejects at most this share of held-out digits


def build_gate(seed: int = 0):
    """Conv16-Pool-Conv32-Pool-Conv64-GlobalMax-Dense64-Dense(1, sigmoid) on pixels 0..255."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(IMAGE_SHAPE, name="pixels")
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="not_a_digit")(x)
    return keras.Model(inputs, outputs, name="gate")


def train_gate(digits: np.ndarray, nondigits: np.ndarray, seed: int = 0, epochs: int = GATE_EPOCHS):
    """Fit the gate on digits (label 0) and non-digits (label 1), shuffled together."""
    import keras

    x = model_input(np.concatenate([digits, nondigits]))  # (N, 28, 28, 1)
    y = np.concatenate([np.zeros(len(digits)), np.ones(len(nondigits))]).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    model = build_gate(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    model.fit(x[order], y[order], batch_size=GATE_BATCH, epochs=epochs, verbose=0, shuffle=True)
    return model


def gate_scores(model, images: np.ndarray) -> np.ndarray:
    """P(not a digit) per image (N,) from a Keras gate."""
    return np.asarray(model.predict(model_input(images), batch_size=1024, verbose=0))[:, 0]


def threshold_for(digit_scores: np.ndarray, max_rejected: float = MAX_DIGITS_REJECTED) -> float:
    """The lowest threshold that rejects at most `max_rejected` of these (held-out) digits."""
    if not len(digit_scores):
        raise ValueError("choosing a threshold needs held-out digit scores")
    return float(np.quantile(digit_scores, 1.0 - max_rejected, method="higher")) + 1e-6
