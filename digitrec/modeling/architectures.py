"""CNN architectures. Every model takes (28, 28, 1) float32 pixels 0..255 (white ink on black)
and returns (10,) softmax probabilities, so callers never rescale."""

from __future__ import annotations

from collections.abc import Callable

from digitrec.constants import IMAGE_SHAPE, NUM_CLASSES

# Short schedules (a few hundred steps) leave Keras' default 0.99 moving statistics far behind
# the weights: inference then scored at chance level here. 0.9 tracks them.
BN_MOMENTUM = 0.9


def baseline(layers) -> list:
    """The keras.io MNIST convnet (35k parameters): the reference point."""
    return [
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
    ]


def conv_bn(layers, filters: int, kernel: int = 3, strides: int = 1, padding: str = "same") -> list:
    """Convolution without bias, then batch norm, then ReLU."""
    return [
        layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False),
        layers.BatchNormalization(momentum=BN_MOMENTUM),
        layers.ReLU(),
    ]


def compact(layers) -> list:
    """Small batch-normalised CNN for the fast profile: few channels at full resolution."""
    return [
        *conv_bn(layers, 16),  # (28, 28, 16)
        *conv_bn(layers, 32, strides=2),  # (14, 14, 32)
        *conv_bn(layers, 32),
        *conv_bn(layers, 64, strides=2),  # (7, 7, 64)
        *conv_bn(layers, 64),
        *conv_bn(layers, 128, padding="valid"),  # (5, 5, 128)
        layers.GlobalAveragePooling2D(),  # (128,)
        layers.Dropout(0.25),
    ]


def strong(layers) -> list:
    """Deotte's Kaggle CNN (32C3-32C3-32C5S2-64C3-64C3-64C5S2-128C4, BN, dropout 0.4)."""
    return [
        *conv_bn(layers, 32, padding="valid"),  # (26, 26, 32)
        *conv_bn(layers, 32, padding="valid"),  # (24, 24, 32)
        *conv_bn(layers, 32, kernel=5, strides=2),  # (12, 12, 32)
        layers.Dropout(0.4),
        *conv_bn(layers, 64, padding="valid"),  # (10, 10, 64)
        *conv_bn(layers, 64, padding="valid"),  # (8, 8, 64)
        *conv_bn(layers, 64, kernel=5, strides=2),  # (4, 4, 64)
        layers.Dropout(0.4),
        *conv_bn(layers, 128, kernel=4, padding="valid"),  # (1, 1, 128)
        layers.Flatten(),
        layers.Dropout(0.4),
    ]


ARCHITECTURES: dict[str, Callable] = {"baseline": baseline, "compact": compact, "strong": strong}


PRECISIONS = ("float32", "mixed_bfloat16")  # Keras dtype policies a model may compute in


def build_model(architecture: str, seed: int = 0, precision: str = "float32"):
    """A fresh, uncompiled Keras model of the named architecture. With "mixed_bfloat16" its
    layers compute in bfloat16 on float32 weights; the softmax stays float32 either way."""
    import keras
    from keras import layers

    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; choose from {sorted(ARCHITECTURES)}"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {PRECISIONS}")
    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # read by each layer as it is created
    try:
        inputs = keras.Input(IMAGE_SHAPE, name="pixels")
        x = layers.Rescaling(1 / 255)(inputs)
        for layer in ARCHITECTURES[architecture](layers):
            x = layer(x)
        outputs = layers.Dense(
            NUM_CLASSES, activation="softmax", name="probabilities", dtype="float32"
        )(x)
    finally:
        keras.config.set_dtype_policy(previous)
    return keras.Model(inputs, outputs, name=architecture)


def with_precision(model, precision: str, seed: int = 0):
    """The same architecture and weights computing in `precision` (weights stay float32, so
    a mixed-precision model converts back to float32 without loss)."""
    twin = build_model(model.name, seed=seed, precision=precision)
    twin.set_weights(model.get_weights())
    return twin
