"""Generalisation beyond MNIST: each model's accuracy on held-out sets in styles MNIST lacks
(digitrec/data/styles.py), each read as the app reads a file (to_mnist, then the model's
default runtime with its calibration and its not-a-digit gate).

    .venv/bin/python bench/bench_generalisation.py --model fast=PATH.keras [--model standard=...]
        [--per-style 1000] [--json out.json]

The styled sets are drawn from hidden-test rows 10,000 onwards (`--first-row`), which no
training run uses and no other benchmark renders. "accuracy" counts an image the app cannot
read (it answers "blank") as wrong; "rejected" is the share the gate calls "not a digit" (a
wrong refusal).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIRST_ROW = 10_000  # hidden-test rows from here on: untouched by training and other benchmarks
SEED = 20_261_125


def seen(pairs: Iterable[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray, int]:
    """(images the model sees (N, 28, 28), labels (N,), how many the app could not read)."""
    from digitrec.inference.files import ImageError
    from digitrec.inference.preprocess import to_mnist

    images, labels, unreadable = [], [], 0
    for image, label in pairs:
        try:
            images.append(to_mnist(image))
        except ImageError:
            unreadable += 1
            continue
        labels.append(label)
    return np.array(images, np.uint8).reshape(-1, 28, 28), np.array(labels, int), unreadable


def held_out_sets(per_style: int, first_row: int) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    from digitrec.data import styles
    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_answers, load_csv

    info = ensure_embedded_data()
    rows = slice(first_row, first_row + per_style)
    digits = load_csv(info.test_csv, kind="test").images[rows]
    labels = load_answers(info.test_labels_csv)[rows]
    sets = {"mnist rows (reference)": (digits, labels, 0)}
    for i, style in enumerate(styles.STYLES):
        sets[style] = seen(styles.styled(style, digits, labels, SEED + first_row + i))
    sets["typed fonts"] = seen(styles.typed_digits(SEED))
    sets["other writers (UCI)"] = seen(styles.other_writers())
    return sets


def score(model: str, images: np.ndarray, labels: np.ndarray, unreadable: int) -> dict:
    from digitrec.inference.rejection import load_gate
    from digitrec.pipeline.run import probabilities

    total = len(labels) + unreadable
    if not len(labels):
        return {"n": total, "accuracy": 0.0, "unreadable": unreadable, "rejected": 0.0}
    probs = probabilities(model, images)
    right = int((probs.argmax(1) == labels).sum())
    gate = load_gate(model)
    rejected = int(gate.rejects(images, probs.max(1))[1].sum()) if gate else 0
    return {
        "n": total,
        "accuracy": round(right / total, 4),
        "unreadable": unreadable,
        "rejected": round(rejected / total, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH.keras")
    parser.add_argument("--per-style", type=int, default=1000)
    parser.add_argument("--first-row", type=int, default=FIRST_ROW, help="a fresh draw: 20000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    models = dict(spec.split("=", 1) for spec in args.model)
    started = time.perf_counter()
    sets = held_out_sets(args.per_style, args.first_row)
    print(f"built {len(sets)} sets in {time.perf_counter() - started:.1f} s", flush=True)
    results = {
        name: {model: score(path, *data) for model, path in models.items()}
        for name, data in sets.items()
    }
    print("| set | n | unreadable | " + " | ".join(f"{m} accuracy | {m} rejected" for m in models))
    print("| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in models))
    for name, by_model in results.items():
        first = next(iter(by_model.values()))
        cells = " | ".join(f"{r['accuracy']:.2%} | {r['rejected']:.2%}" for r in by_model.values())
        print(f"| {name} | {first['n']} | {first['unreadable']} | {cells} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
