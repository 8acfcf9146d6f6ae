"""Monitor time on a full window: 10,000 logged predictions of MNIST test images (logged through
digitrec.loop.log as predict logs them) in a temporary DIGITREC_HOME, against the embedded
training data. Reports the reference's cold (first run: 42,000-row CSV, 10,000-image sample)
and cached time, and the monitor's time over the window, best of N.

    .venv/bin/python bench/bench_monitor.py [--predictions 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def fill_log(count: int, batch: int = 500) -> None:
    """`count` predictions of the embedded test images, logged in predict-sized batches."""
    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv
    from digitrec.inference.prediction import Prediction
    from digitrec.loop import log

    test = load_csv(ensure_embedded_data().test_csv, kind="test").images[:count]  # (n, 28, 28)
    for start in range(0, len(test), batch):
        images = test[start : start + batch]
        served = [
            Prediction(f"img{start + i}.png", (start + i) % 10, confidence=0.97)
            for i in range(len(images))
        ]
        log.append(log.records_from(served, [[im] for im in images], "flow", "model.keras"))


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--predictions", type=int, default=10_000, help="logged predictions")
    parser.add_argument("--repeats", type=int, default=3, help="monitor runs; best is kept")
    args = parser.parse_args()
    os.environ["DIGITREC_HOME"] = tempfile.mkdtemp(prefix="bench-monitor-")
    from digitrec.loop.monitor import run_monitor
    from digitrec.loop.monitor.reference import load_reference

    fill_log(args.predictions)
    cold_s, _ = timed(load_reference)
    cached_s, reference = timed(load_reference)
    # As the daily flow runs it: read the window, load the cached reference, measure, judge.
    runs = [timed(lambda: run_monitor(min_records=args.predictions)) for _ in range(args.repeats)]
    with tempfile.TemporaryDirectory() as out:
        files_s, report = timed(lambda: run_monitor(min_records=args.predictions, out_dir=out))
    print(
        json.dumps(
            {
                "predictions": report.predictions,
                "images": report.images,
                "status": report.verdict.status,
                "reference_cold_s": round(cold_s, 3),
                "reference_cached_s": round(cached_s, 3),
                "monitor_best_s": round(min(s for s, _ in runs), 3),
                "monitor_with_figures_s": round(files_s, 3),
                "reference_cached": reference.cached,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
