"""The `adapt` recipe's levers, side by side on one champion: the share of corrections in every
batch, the peak learning rate and the number of steps. Each variant continues from the same
champion on k labelled images of a population plus replayed training rows, and is scored on
the population's never-labelled rest and on the MNIST hidden test (28,000 rows).

    .venv/bin/python bench/adapt_levers.py --base-home /tmp/loop-base [--population uci-scan]
        [--k 200] [--variants share25,share12,share50,lr2e3,steps200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.populations import population  # noqa: E402
from digitrec.hardware import choose_precision, this_cpu  # noqa: E402

VARIANTS = {  # name: (share, peak learning rate, epochs of 100 steps)
    "share25": (0.25, 1e-3, 3),
    "share12": (0.125, 1e-3, 3),
    "share50": (0.5, 1e-3, 3),
    "lr5e4": (0.25, 5e-4, 3),
    "lr2e3": (0.25, 2e-3, 3),
    "steps200": (0.25, 1e-3, 2),
    "steps500": (0.25, 1e-3, 5),
}


def pixels(items: list) -> np.ndarray:
    """Each image as `predict` sees it: (N, 28, 28) uint8."""
    from digitrec.inference.preprocess import to_mnist

    return np.stack([to_mnist(image) for image, _ in items])


def champion_run(home: Path) -> tuple[Path, Path]:
    """The champion's model file and its run folder in `home`."""
    record = json.loads((home / "models" / "champion.json").read_text())
    run_dir = home / "runs" / record["run_id"]
    return run_dir / "model.keras", run_dir


def main() -> None:
    import os

    from digitrec.data.kaggle import load_answers, load_csv
    from digitrec.modeling.profiles import get_profile
    from digitrec.modeling.training import fit, predict_proba

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-home", type=Path, required=True)
    parser.add_argument("--population", default="uci-scan")
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    os.environ["DIGITREC_HOME"] = str(args.base_home)
    model_path, run_dir = champion_run(args.base_home)
    data = args.base_home / "data" / "mnist"
    train = load_csv(data / "train.csv")
    hidden_x = load_csv(data / "test.csv", kind="test").images
    hidden_y = load_answers(data / "test_labels.csv")
    with np.load(run_dir / "split.npz") as split:
        base_idx = split["train"]
    items = population(args.population)
    labelled, rest = items[: args.k], items[400:1400]
    x_fb, y_fb = pixels(labelled), np.array([label for _, label in labelled], np.uint8)
    x_rest, y_rest = pixels(rest), np.array([label for _, label in rest])
    x = np.concatenate([train.images[base_idx], x_fb])  # (N + k, 28, 28)
    y = np.concatenate([train.labels[base_idx], y_fb])
    emphasis = np.r_[np.zeros(len(base_idx), bool), np.ones(len(y_fb), bool)]
    plan = get_profile("adapt", choose_precision("auto").policy)
    print(f"CPU: {this_cpu().describe()}; champion {model_path.parent.name}", flush=True)
    before = fit_free_scores(model_path, x_rest, y_rest, hidden_x, hidden_y)
    print(json.dumps({"variant": "champion", **before}), flush=True)
    for name in args.variants.split(","):
        share, rate, epochs = VARIANTS[name]
        recipe = replace(plan.candidates[0], augmentation=plan.augmentation, seed=0,
                         emphasis_share=share, peak_learning_rate=rate, epochs=epochs,
                         steps_per_epoch=plan.adapt_steps)  # fmt: skip
        started = time.perf_counter()
        result = fit(recipe, (x, y), initial_model_path=model_path, emphasis=emphasis)
        seconds = time.perf_counter() - started
        rest_acc = float((predict_proba(result.model, x_rest).argmax(1) == y_rest).mean())
        hidden = float((predict_proba(result.model, hidden_x).argmax(1) == hidden_y).mean())
        row = {"variant": name, "rest": round(rest_acc, 4), "hidden": round(hidden, 5)}
        print(json.dumps({**row, "seconds": round(seconds, 1)}), flush=True)


def fit_free_scores(model_path, x_rest, y_rest, hidden_x, hidden_y) -> dict:
    """The champion's own accuracy on the rest and on the hidden test."""
    import keras

    from digitrec.modeling.training import predict_proba

    model = keras.saving.load_model(model_path)
    rest = float((predict_proba(model, x_rest).argmax(1) == y_rest).mean())
    hidden = float((predict_proba(model, hidden_x).argmax(1) == hidden_y).mean())
    return {"rest": round(rest, 4), "hidden": round(hidden, 5), "seconds": 0}


if __name__ == "__main__":
    main()
