"""The "not a digit" gate: a small CNN that tells MNIST-style digits from MNIST-style
non-digits (synthetic letters, symbols, shapes and scribbles). It sees the same 28x28 image as
the digit model and outputs the probability that the image is not a digit."""

from __future__ import annotations

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE
from digitrec.modeling.training import STEPS_PER_EXECUTION

GATE_EPOCHS = 6  # 3 refused 3-4 points fewer non-digits once coarse scans joined (RESULTS.md)
GATE_BATCH = 256
MAX_DIGITS_REJECTED = 0.006  # the threshold rejects at most this share of held-out digits


def build_gate(seed: int = 0, precision: str = "float32"):
    """Conv16-Pool-Conv32-Pool-Conv64-GlobalMax-Dense64-Dense(1, sigmoid) on pixels 0..255;
    with "mixed_bfloat16" its layers compute in bfloat16 (weights and output in float32)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # read by each layer as it is created
    try:
        return gate_layers(keras, layers)
    finally:
        keras.config.set_dtype_policy(previous)


def gate_layers(keras, layers):
    """The gate's graph under the current dtype policy."""
    inputs = keras.Input(IMAGE_SHAPE, name="pixels")
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="not_a_digit", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="gate")


def train_gate(
    digits: np.ndarray,
    nondigits: np.ndarray,
    seed: int = 0,
    epochs: int = GATE_EPOCHS,
    precision: str = "float32",
):
    """Fit the gate on digits (label 0) and non-digits (label 1), shuffled together, computing
    in `precision` (the run's); returned computing in float32, as it is scored, exported and
    served."""
    import keras

    x = model_input(np.concatenate([digits, nondigits]))  # (N, 28, 28, 1)
    y = np.concatenate([np.zeros(len(digits)), np.ones(len(nondigits))]).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    model = build_gate(seed, precision)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    model.fit(x[order], y[order], batch_size=GATE_BATCH, epochs=epochs, verbose=0, shuffle=True)
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
