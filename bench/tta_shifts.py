"""Test-time shifts: a run's model scored on the hidden test and on its own validation split,
alone and as the mean of its probabilities over one-pixel-shifted copies.

    .venv/bin/python bench/tta_shifts.py var/runs/<run id>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitrec.data.embedded import ensure_embedded_data  # noqa: E402
from digitrec.data.kaggle import load_answers, load_csv  # noqa: E402
from digitrec.modeling.training import predict_proba  # noqa: E402

STRAIGHT = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
DIAGONAL = {"up-left": (-1, -1), "up-right": (-1, 1), "down-left": (1, -1), "down-right": (1, 1)}


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, 28, 28) moved by dy rows and dx columns, zeros shifted in."""
    out = np.zeros_like(images)
    height, width = images.shape[1:]
    out[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = images[
        :, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()

    import keras

    model = keras.saving.load_model(args.run_dir / "model.keras", compile=False)
    data = ensure_embedded_data()
    train = load_csv(data.train_csv, kind="train")
    validation = np.load(args.run_dir / "split.npz")["validation"]
    sets = {
        "hidden test": (
            load_csv(data.test_csv, kind="test").images,
            load_answers(data.test_labels_csv),
        ),
        "validation": (train.images[validation], train.labels[validation]),
    }
    print("| views | hidden test | validation |\n| --- | ---: | ---: |")
    rows: dict[str, list[str]] = {}
    for images, labels in sets.values():
        probs = {
            name: predict_proba(model, shifted(images, *move))
            for name, move in {**STRAIGHT, **DIAGONAL}.items()
        }
        alone = predict_proba(model, images)
        straight = sum(probs[name] for name in STRAIGHT)
        views = {
            "the image alone": alone,
            "+ 4 one-pixel shifts": alone + straight,
            "+ 4 shifts, the image weighted twice": 2 * alone + straight,
            "+ 8 shifts (diagonals too)": alone + straight + sum(probs[n] for n in DIAGONAL),
        }
        for name, p in views.items():
            wrong = int((p.argmax(1) != labels).sum())
            rows.setdefault(name, []).append(f"{1 - wrong / len(labels):.3%} ({wrong})")
    for name, cells in rows.items():
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
