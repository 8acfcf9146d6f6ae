"""Inference runtimes. Training exports each final model to LiteRT (`model.tflite` beside
`model.keras`): it imports in ~0.06 s where TensorFlow takes ~5 s, and predicts faster on CPU.
Prediction prefers it whenever it exists and is not older than the Keras file.

A second, int8 export (`model.int8.tflite`: int8 weights and activations, calibrated on
training images, float input and output) predicts about 3.5x faster with XNNPACK's integer
kernels. It is not bit-faithful, so it is opt-in (`runtime="int8"`) and kept only when it
predicts the same digit as Keras on at least INT8_MIN_AGREEMENT of the validation split."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitrec.constants import IMAGE_SIZE, NUM_CLASSES
from digitrec.storage import write_with

Predictor = Callable[[np.ndarray], np.ndarray]  # (N, 28, 28, 1) float32 -> (N, 10)
CHUNK = 1024  # images per LiteRT invocation
RUNTIMES = ("auto", "litert", "int8", "keras")
INT8_MIN_AGREEMENT = 0.999  # share of validation digits int8 must predict as Keras does
CALIBRATION_IMAGES = 500  # training images that set the int8 activation ranges


def litert_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".tflite")


def int8_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".int8.tflite")


def export_litert(
    model, keras_path: Path | str, check_images: np.ndarray, expected: np.ndarray | None = None
) -> Path | None:
    """Export beside the .keras file; keep it only if it predicts the same digits as Keras
    (`expected`: Keras' digits for `check_images`, when the caller has them already)."""
    target = litert_path(keras_path)
    agreement = export_checked(model, target, check_images, expected)
    return target if agreement == 1.0 else discard(target)


def export_int8(
    model,
    keras_path: Path | str,
    check_images: np.ndarray,
    calibration: np.ndarray,
    expected: np.ndarray | None = None,
) -> tuple[Path | None, float]:
    """(model.int8.tflite or None, its digit agreement with Keras on `check_images`)."""
    import tensorflow as tf

    def representative():
        for image in calibration[:CALIBRATION_IMAGES]:
            yield [image.reshape(1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)]

    target = int8_path(keras_path)
    agreement = export_checked(
        model,
        target,
        check_images,
        expected,
        optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=representative,
    )
    return (target if agreement >= INT8_MIN_AGREEMENT else discard(target)), agreement


def keras_digits(model, images: np.ndarray) -> np.ndarray:
    """The digits (N,) a Keras model predicts for uint8 or float images (N, 28, 28[, 1])."""
    x = images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)  # (N, 28, 28, 1)
    return np.asarray(model.predict(x, verbose=0)).argmax(1)


def export_checked(
    model, target: Path, check_images: np.ndarray, expected: np.ndarray | None, **converter
) -> float:
    """Write the LiteRT export atomically; return the share of digits it predicts as Keras."""
    write_with(
        target, lambda tmp: model.export(str(tmp), format="litert", verbose=False, **converter)
    )
    if expected is None:
        expected = keras_digits(model, check_images)
    x = check_images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)  # (N, 28, 28, 1)
    return float((litert_predictor(target)(x).argmax(1) == expected).mean())


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def litert_predictor(path: Path) -> Predictor:
    """A LiteRT interpreter over the exported model, resized per chunk."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path), num_threads=os.cpu_count() or 1)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    shape = None

    def predict(batch: np.ndarray) -> np.ndarray:
        nonlocal shape
        out = np.empty((len(batch), NUM_CLASSES), np.float32)
        for start in range(0, len(batch), CHUNK):
            chunk = np.ascontiguousarray(batch[start : start + CHUNK], dtype=np.float32)
            if chunk.shape != shape:
                interpreter.resize_tensor_input(input_index, chunk.shape)
                interpreter.allocate_tensors()
                shape = chunk.shape
            interpreter.set_tensor(input_index, chunk)
            interpreter.invoke()
            out[start : start + len(chunk)] = interpreter.get_tensor(output_index)
        return out

    return predict


def keras_predictor(path: Path) -> Predictor:
    """The Keras model itself (imports TensorFlow)."""
    import keras

    model = keras.saving.load_model(path, compile=False)
    expected = (None, IMAGE_SIZE, IMAGE_SIZE, 1)
    if tuple(model.input_shape) != expected:
        raise ValueError(f"{path}: model input is {model.input_shape}, expected {expected}")
    return lambda batch: np.asarray(model.predict(batch, batch_size=CHUNK, verbose=0))


def load_predictor(model_path: Path | str, runtime: str = "auto") -> tuple[Predictor, str]:
    """(predict function, runtime name) for a .keras or .tflite path."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose {', '.join(RUNTIMES)}")
    path = Path(model_path)
    if path.suffix == ".tflite":
        return litert_predictor(path), "int8" if path.name.endswith(".int8.tflite") else "litert"
    if runtime == "int8":
        exported = int8_path(path)
        if not is_fresh(exported, path):
            raise FileNotFoundError(
                f"{exported}: no current int8 export of {path.name} (it is written by training "
                "when it agrees with Keras); use runtime 'auto', 'litert' or 'keras'"
            )
        return litert_predictor(exported), "int8"
    exported = litert_path(path)
    if runtime == "litert" or (runtime == "auto" and is_fresh(exported, path)):
        return litert_predictor(exported), "litert"
    return keras_predictor(path), "keras"


def is_fresh(exported: Path, keras_path: Path) -> bool:
    """The export exists and is not older than the Keras model it was made from."""
    return exported.is_file() and exported.stat().st_mtime >= keras_path.stat().st_mtime
