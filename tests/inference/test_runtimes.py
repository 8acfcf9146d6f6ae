"""Inference runtimes: the int8 LiteRT export, its agreement gate, and choosing a runtime."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

from digitrec.inference.runtimes import RUNTIMES, export_runtime, int8_path, load_predictor


@pytest.fixture
def model_copy(strong_model_path, tmp_path):
    """A private copy of the session's trained model (its float LiteRT export beside it)."""
    target = tmp_path / "model.keras"
    shutil.copyfile(strong_model_path, target)
    shutil.copyfile(strong_model_path.with_suffix(".tflite"), target.with_suffix(".tflite"))
    return target


def pixels(images: np.ndarray) -> np.ndarray:
    return images[..., None].astype(np.float32)  # (N, 28, 28, 1)


def test_int8_export_is_kept_when_it_agrees_and_used_on_request(model_copy, mnist_arrays):
    import keras

    images, _ = mnist_arrays
    check, calibration = images[60_000:60_500], images[:300]
    model = keras.saving.load_model(model_copy)
    gate = replace(RUNTIMES["int8"], min_agreement=0.95)
    exported = export_runtime(gate, model, model_copy, check, calibration=calibration)
    path, agreement = exported.path, exported.agreement

    assert path == int8_path(model_copy) == model_copy.with_name("model.int8.tflite")
    assert path.is_file() and path.stat().st_size < model_copy.with_suffix(".tflite").stat().st_size
    predictor, name = load_predictor(model_copy, "int8")
    assert name == "int8"
    keras_digits = np.asarray(model.predict(pixels(check), verbose=0)).argmax(1)
    int8_probs = predictor(pixels(check))  # (500, 10)
    # The reported agreement is the real one, and it passed the gate.
    assert agreement == pytest.approx((int8_probs.argmax(1) == keras_digits).mean())
    assert agreement >= 0.95
    # Probabilities come out in 1/256 steps (int8 softmax), so each row sums to 1 within a few.
    np.testing.assert_allclose(int8_probs.sum(1), 1.0, atol=6 / 256)
    # auto keeps the bit-faithful float export, unless training chose int8 for this model.
    assert load_predictor(model_copy)[1] == "litert"
    export_json = model_copy.parent / "export.json"
    export_json.write_text(json.dumps({"auto_runtime": "int8"}))
    assert load_predictor(model_copy)[1] == "int8"
    for unusable in ('{"auto_runtime": "tpu"}', "{not json", "[1, 2]"):
        export_json.write_text(unusable)
        assert load_predictor(model_copy)[1] == "litert"


def test_int8_export_below_the_gate_is_discarded(model_copy, mnist_arrays):
    import keras

    images, _ = mnist_arrays
    gate = replace(RUNTIMES["int8"], min_agreement=1.01)  # nothing can pass
    exported = export_runtime(
        gate,
        keras.saving.load_model(model_copy),
        model_copy,
        images[60_000:60_200],
        calibration=images[:100],
    )
    path, agreement = exported.path, exported.agreement
    assert path is None and 0.5 < agreement <= 1.0
    assert not int8_path(model_copy).exists()
    with pytest.raises(FileNotFoundError, match=r"model\.int8\.tflite: no current int8 export"):
        load_predictor(model_copy, "int8")


def test_a_stale_int8_export_is_refused(model_copy):
    exported = int8_path(model_copy)
    exported.write_bytes(b"old")
    stamp = model_copy.stat().st_mtime
    os.utime(exported, (stamp - 60, stamp - 60))  # older than the model it claims to be
    with pytest.raises(FileNotFoundError, match="no current int8 export"):
        load_predictor(model_copy, "int8")


def test_unknown_runtime_is_named(model_copy):
    with pytest.raises(ValueError, match="unknown runtime 'gpu'; choose auto, litert, int8, keras"):
        load_predictor(model_copy, "gpu")


def test_a_float_export_that_disagrees_is_discarded(model_copy, mnist_arrays):
    """The float export is kept only when it predicts every check digit as Keras does."""
    import keras

    images, _ = mnist_arrays
    model = keras.saving.load_model(model_copy)
    wrong = np.zeros(64, dtype=np.int64) + 11  # digits no model predicts
    exported = export_runtime(RUNTIMES["litert"], model, model_copy, images[:64], wrong)
    assert exported.path is None and exported.agreement == 0.0
    assert not model_copy.with_suffix(".tflite").exists()
    assert load_predictor(model_copy)[1] == "keras"  # auto falls back to the Keras model
