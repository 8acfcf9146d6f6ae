"""Inference: batch throughput on the 28,000 test rows and single-image latency, warm (model
loaded) and cold (`digitrec predict one.png` as a fresh process), for every runtime we ship:
Keras, LiteRT float32 and LiteRT int8. A model trained before the int8 export existed gets one
here (calibrated on 500 train.csv rows, checked on 2,000 others), as training would write it.

    .venv/bin/python bench/bench_predict.py [--model champion] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from digitrec.data.embedded import ensure_embedded_data
from digitrec.data.kaggle import load_csv
from digitrec.inference.files import read_image
from digitrec.inference.preprocess import to_mnist
from digitrec.inference.runtimes import (
    RUNTIMES,
    export_runtime,
    int8_path,
    is_fresh,
    load_predictor,
)
from digitrec.registry.store import resolve_model

CLI = [sys.executable, "-m", "app.cli", "predict"]


def batch_throughput(predictor, images: np.ndarray, repeats: int) -> float:
    x = images[..., None].astype(np.float32)  # (N, 28, 28, 1)
    predictor(x[:256])  # warm-up
    best = min(timed(lambda: predictor(x)) for _ in range(repeats))
    return len(x) / best


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def warm_latency(predictor, image_path: Path, repeats: int = 50) -> float:
    """Median seconds for read + preprocess + predict of one image with the model loaded."""

    def one():
        x = to_mnist(read_image(image_path)).astype(np.float32)[None, ..., None]
        predictor(x)

    one()
    return statistics.median(timed(one) for _ in range(repeats))


def cold_latency(model: Path, image_path: Path, runtime: str, repeats: int) -> float:
    """Median wall seconds of a fresh `digitrec predict` process."""

    def run():
        subprocess.run(
            [*CLI, str(image_path), "--model", str(model), "--runtime", runtime],
            check=True,
            capture_output=True,
        )

    return statistics.median(timed(run) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="champion", help="champion, a run id or a .keras path")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = resolve_model(args.model)
    data = ensure_embedded_data()
    test = load_csv(data.test_csv, kind="test")
    if not is_fresh(int8_path(model), model):
        import keras

        train = load_csv(data.train_csv, kind="train").images
        model_object = keras.saving.load_model(model)
        int8 = RUNTIMES["int8"]
        agreement = export_runtime(
            int8, model_object, model, train[500:2500], calibration=train[:500]
        ).agreement
        print(f"int8 export written: same digit as Keras on {agreement:.3%} of 2,000 rows")
    with tempfile.TemporaryDirectory() as tmp:
        image_path = Path(tmp) / "one.png"
        cv2.imwrite(str(image_path), cv2.resize(255 - test.images[0], (112, 112)))
        results = {"model": str(model)}
        for runtime in RUNTIMES:
            predictor, _ = load_predictor(model, runtime)
            results[runtime] = {
                "batch_images_per_second": round(
                    batch_throughput(predictor, test.images, args.repeats)
                ),
                "warm_single_image_ms": round(1000 * warm_latency(predictor, image_path), 1),
                "cold_cli_seconds": round(
                    cold_latency(model, image_path, runtime, args.repeats), 2
                ),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
