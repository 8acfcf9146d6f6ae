"""Inference runtimes, each declared once in RUNTIMES: the file it runs (beside `model.keras`),
how training exports it, and how prediction loads it.

- litert: the float32 LiteRT export. It imports without TensorFlow and predicts exactly the
  digits of the evaluated Keras model, or training does not keep it.
- int8: int8 weights and activations calibrated on training images (float input and output),
  faster on CPU; not bit-faithful, so opt-in and kept only when it predicts the same digit as
  Keras on at least INT8_MIN_AGREEMENT of the validation split.
- keras: the `.keras` model itself (imports TensorFlow).
`auto` takes the runtime training chose for the model (export.json's `auto_runtime`: int8 when
it scored at least as well as float on the validation split), else the first of AUTO_ORDER whose
file is current. Every runtime's probabilities pass through the model's calibration
(`digitrec.inference.calibration`). Speeds: bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE
from digitrec.inference.calibration import apply_temperature, load_temperature
from digitrec.storage import write_with

Predictor = Callable[[np.ndarray], np.ndarray]  # (N, 28, 28, 1) float32 -> (N, 10)
CHUNK = 1024  # images per LiteRT invocation
INT8_MIN_AGREEMENT = 0.999  # share of validation digits int8 must predict as Keras does
CALIBRATION_IMAGES = 500  # training images that set the int8 activation ranges


@dataclass(frozen=True)
class Exported:
    """An export's file (None when it disagreed with Keras and was discarded) and its share of
    validation digits predicted as Keras predicts them."""

    path: Path | None
    agreement: float


@dataclass(frozen=True)
class Runtime:
    name: str
    summary: str
    file: Callable[[Path], Path]  # the file it runs, from the model.keras path
    load: Callable[[Path], Predictor]
    # LiteRT converter options from calibration images; None: not exported (runs the .keras)
    converter: Callable[[np.ndarray | None], dict] | None = None
    min_agreement: float = 1.0  # share of validation digits an export must predict as Keras


def litert_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".tflite")


def int8_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".int8.tflite")


def keras_digits(model, images: np.ndarray) -> np.ndarray:
    """The digits (N,) a Keras model predicts for uint8 or float images (N, 28, 28[, 1])."""
    return np.asarray(model.predict(model_input(images), verbose=0)).argmax(1)


def float_options(calibration: np.ndarray | None) -> dict:
    return {}


def int8_options(calibration: np.ndarray | None) -> dict:
    """int8 weights and activations, their ranges set by up to CALIBRATION_IMAGES images."""
    import tensorflow as tf

    if calibration is None or not len(calibration):
        raise ValueError("the int8 export needs calibration images")

    def representative():
        for image in calibration[:CALIBRATION_IMAGES]:
            yield [model_input(image)]  # (1, 28, 28, 1)

    return {"optimizations": [tf.lite.Optimize.DEFAULT], "representative_dataset": representative}


def export_runtime(
    runtime: Runtime,
    model,
    keras_path: Path | str,
    check_images: np.ndarray,
    expected: np.ndarray | None = None,
    calibration: np.ndarray | None = None,
) -> Exported:
    """Write the runtime's export beside the .keras file atomically, and keep it only if it
    predicts Keras' digits for `check_images` (`expected`, when the caller has them) on at
    least `runtime.min_agreement` of them."""
    if runtime.converter is None:
        raise ValueError(f"runtime {runtime.name!r} runs the .keras file: nothing to export")
    target = runtime.file(Path(keras_path))
    options = runtime.converter(calibration)
    write_with(
        target, lambda tmp: model.export(str(tmp), format="litert", verbose=False, **options)
    )
    if expected is None:
        expected = keras_digits(model, check_images)
    predicted = litert_predictor(target)(model_input(check_images)).argmax(1)  # (N,)
    agreement = float((predicted == expected).mean())
    return Exported(target if agreement >= runtime.min_agreement else discard(target), agreement)


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def litert_predictor(path: Path) -> Predictor:
    """A LiteRT interpreter over the exported model, resized per chunk."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path), num_threads=os.cpu_count() or 1)
    input_index = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]
    output_index = output["index"]
    tail = tuple(int(d) for d in output["shape"][1:])  # (10,) for digit models
    shape = None

    def predict(batch: np.ndarray) -> np.ndarray:
        nonlocal shape
        out = np.empty((len(batch), *tail), np.float32)
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


def keras_predictor(path: Path, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> Predictor:
    """The Keras model itself (imports TensorFlow), checked to take `input_shape` batches: a
    digit model 28x28x1 images, a number reader its lines."""
    import keras

    model = keras.saving.load_model(path, compile=False)
    expected = (None, *input_shape)
    if tuple(model.input_shape) != expected:
        raise ValueError(f"{path}: model input is {model.input_shape}, expected {expected}")
    return lambda batch: np.asarray(model.predict(batch, batch_size=CHUNK, verbose=0))


RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (
        Runtime(
            "litert",
            "float32 LiteRT export, the same digits as the evaluated Keras model",
            litert_path,
            litert_predictor,
            float_options,
        ),
        Runtime(
            "int8",
            f"int8 LiteRT export, faster on large batches; kept when it agrees with Keras on "
            f">= {INT8_MIN_AGREEMENT:.1%} of validation digits",
            int8_path,
            litert_predictor,
            int8_options,
            INT8_MIN_AGREEMENT,
        ),
        Runtime("keras", "the Keras model itself (imports TensorFlow)", Path, keras_predictor),
    )
}
EXPORTED = tuple(name for name, runtime in RUNTIMES.items() if runtime.converter is not None)
AUTO = "auto"
AUTO_ORDER = ("litert", "keras")  # `auto` runs the first whose file is current
AUTO_CHOICE = "auto_runtime"  # export.json's key: the runtime training chose for `auto`
EXPORT_FILE = "export.json"
RUNTIME_CHOICES = (AUTO, *RUNTIMES)
RuntimeChoice = Literal[RUNTIME_CHOICES]  # the predict flow's `runtime` parameter


def runtimes_help() -> str:
    """'auto: ...; litert: ...' for help texts."""
    first = " else ".join(AUTO_ORDER)
    return "; ".join([f"{AUTO}: {first}", *(f"{r.name}: {r.summary}" for r in RUNTIMES.values())])


def is_fresh(exported: Path, keras_path: Path) -> bool:
    """The export exists and is not older than the Keras model it was made from."""
    return exported.is_file() and exported.stat().st_mtime >= keras_path.stat().st_mtime


def is_current(runtime: Runtime, keras_path: Path) -> bool:
    return runtime.converter is None or is_fresh(runtime.file(keras_path), keras_path)


def load_predictor(
    model_path: Path | str, runtime: str = AUTO, calibrate: bool = True
) -> tuple[Predictor, str]:
    """(predict function, runtime name) for a .keras path and a runtime, or a .tflite path;
    `calibrate=False` gives the raw probabilities, as training fits the temperature on."""
    if runtime not in RUNTIME_CHOICES:
        raise ValueError(f"unknown runtime {runtime!r}; choose {', '.join(RUNTIME_CHOICES)}")
    path = Path(model_path)
    if path.suffix == ".tflite":
        return litert_predictor(path), "int8" if path.name.endswith(".int8.tflite") else "litert"
    if runtime == AUTO:
        order = [name for name in (preferred_runtime(path), *AUTO_ORDER) if name is not None]
        runtime = next(name for name in order if is_current(RUNTIMES[name], path))
    chosen = RUNTIMES[runtime]
    if not is_current(chosen, path):
        raise FileNotFoundError(
            f"{chosen.file(path)}: no current {runtime} export of {path.name} (training writes "
            f"it when it agrees with Keras); use runtime '{AUTO}' or 'keras'"
        )
    predictor = chosen.load(chosen.file(path))
    return (calibrated(predictor, path) if calibrate else predictor), runtime


def preferred_runtime(keras_path: Path) -> str | None:
    """The runtime training chose for `auto` (export.json beside the model), or None."""
    try:
        choice = json.loads((keras_path.parent / EXPORT_FILE).read_text()).get(AUTO_CHOICE)
    except (OSError, ValueError, AttributeError):
        return None
    return choice if choice in RUNTIMES else None


def calibrated(predictor: Predictor, keras_path: Path) -> Predictor:
    """The predictor with the model's temperature applied, when training stored one."""
    temperature = load_temperature(keras_path)
    if temperature is None:
        return predictor
    return lambda batch: apply_temperature(predictor(batch), temperature)
