"""LiteRT export variants of one model: float32 (what training ships), dynamic-range int8
weights, float16 weights, and full int8 (weights and activations, calibrated on training
images; float input and output). For each: file size, batch throughput on the 28,000 test
rows, agreement with Keras and hidden-test accuracy.

    .venv/bin/python bench/bench_quantize.py [--model champion] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from digitrec.data.embedded import ensure_embedded_data
from digitrec.data.kaggle import load_answers, load_csv
from digitrec.inference.runtimes import litert_predictor
from digitrec.registry.store import resolve_model


def variants(calibration: np.ndarray) -> dict[str, dict]:
    """Converter settings per variant (keyword arguments of keras' LiteRT export)."""
    import tensorflow as tf

    def representative():
        for image in calibration:
            yield [image[None, ..., None].astype(np.float32)]

    return {
        "float32": {},
        "dynamic-int8": {"optimizations": [tf.lite.Optimize.DEFAULT]},
        "float16": {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {"supported_types": [tf.float16]},
        },
        "int8": {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": representative,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="champion")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calibration", type=int, default=500)
    args = parser.parse_args()

    import keras

    data = ensure_embedded_data()
    model_path = resolve_model(args.model)
    model = keras.saving.load_model(model_path, compile=False)
    test = load_csv(data.test_csv).images[..., None].astype(np.float32)  # (28000, 28, 28, 1)
    answers = load_answers(data.test_labels_csv)
    calibration = load_csv(data.train_csv).images[: args.calibration]
    reference = np.asarray(model.predict(test, batch_size=1024, verbose=0))  # (28000, 10)

    print(f"model: {model_path}")
    print("| variant | size | images/s | same digit as Keras | max prob diff | hidden test |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in variants(calibration).items():
            path = Path(tmp) / f"{name}.tflite"
            model.export(str(path), format="litert", verbose=False, **settings)
            predict = litert_predictor(path)
            predict(test[:256])  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                started = time.perf_counter()
                probs = predict(test)
                best = min(best, time.perf_counter() - started)
            agree = (probs.argmax(1) == reference.argmax(1)).mean()
            accuracy = (probs.argmax(1) == answers).mean()
            print(
                f"| {name} | {path.stat().st_size / 1024:.0f} KiB | {len(test) / best:,.0f} "
                f"| {agree:.4%} | {np.abs(probs - reference).max():.4f} | {accuracy:.4%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
