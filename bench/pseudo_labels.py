"""Pseudo-labelling (#16 goal 2, transductive): continue a run's model for a few augmented epochs
on its training rows plus the unlabelled test rows it is most sure of, labelled with its own
answers; against the same continuation on the training rows alone, so that the extra epochs are
not mistaken for the pseudo-labels' gain. The test rows' answers only score the result.

    .venv/bin/python bench/pseudo_labels.py var/runs/<run id> [--epochs 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitrec.data.embedded import ensure_embedded_data  # noqa: E402
from digitrec.data.kaggle import load_answers, load_csv  # noqa: E402
from digitrec.modeling.profiles import COARSE  # noqa: E402

BF16 = "mixed_bfloat16"
from digitrec.modeling.training import TrainConfig, fit, predict_proba  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--architecture", default="compact", help="the run model's")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--confidence", type=float, default=0.8, help="lowest top probability")
    parser.add_argument("--variants", default="control,pseudo")
    args = parser.parse_args()

    import keras

    data = ensure_embedded_data()
    train = load_csv(data.train_csv, kind="train")
    with np.load(args.run_dir / "split.npz") as split:
        train_idx, val_idx = split["train"], split["validation"]
    test = load_csv(data.test_csv, kind="test").images
    answers = load_answers(data.test_labels_csv)
    val = (train.images[val_idx], train.labels[val_idx])
    model_path = args.run_dir / "model.keras"
    probs = predict_proba(keras.saving.load_model(model_path, compile=False), test)
    guess, top = probs.argmax(1), probs.max(1)
    sure = top >= args.confidence
    print(
        json.dumps(
            {
                "variant": "start",
                "hidden_test_errors": int((guess != answers).sum()),
                "pseudo_rows": int(sure.sum()),
                "pseudo_wrong": int((guess[sure] != answers[sure]).sum()),
            }
        ),
        flush=True,
    )
    config = TrainConfig(
        args.architecture,
        epochs=args.epochs,
        batch_size=256,
        peak_learning_rate=args.learning_rate,
        augmentation=COARSE,  # as the profiles train
        precision=BF16,
    )
    rows = {
        "control": (train.images[train_idx], train.labels[train_idx]),
        "pseudo": (
            np.concatenate([train.images[train_idx], test[sure]]),
            np.concatenate([train.labels[train_idx], guess[sure]]),
        ),
    }
    for name in args.variants.split(","):
        started = time.perf_counter()
        result = fit(config, rows[name], val, initial_model_path=model_path)
        hidden = predict_proba(result.model, test).argmax(1)
        validation = predict_proba(result.model, val[0]).argmax(1)
        print(
            json.dumps(
                {
                    "variant": name,
                    "rows": len(rows[name][1]),
                    "seconds": round(time.perf_counter() - started, 1),
                    "hidden_test_errors": int((hidden != answers).sum()),
                    "hidden_test_accuracy": round(float((hidden == answers).mean()), 5),
                    "validation_errors": int((validation != val[1]).sum()),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
