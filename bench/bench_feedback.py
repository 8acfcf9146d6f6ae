"""Does labelled feedback help? Photo-like digits the champion gets wrong are labelled into the
feedback store, then `train` runs twice from the same seed, without and with the feedback, and
all three models are scored on a fresh set of similar photos.

    DIGITREC_HOME=/tmp/fb-exp .venv/bin/python bench/bench_feedback.py --model CHAMPION.keras

The photos are renders of the embedded data's Kaggle test rows (never trained on): dark ink on
paper, 3-7x larger, a perspective tilt, blur, uneven light and JPEG. Set A (rows 0..3999) is
what "production" sent; the champion's mistakes on it become feedback rows (label = the true
digit, image = the 28x28 the model saw). Set B (rows 4000..7999, another random draw of the
style) is the fresh set. The feedback rows' source digits are also hidden-test rows: the
hidden-test figures of the feedback run are slightly optimistic (see the printout).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SET_A = range(0, 4000)
SET_B = range(4000, 8000)


def seen_images(rows: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """What the model sees for each photo, (N, 28, 28) uint8 after the app's preprocessing, and
    the labels; a photo the preprocessing finds blank (it answers with an error) is left out."""
    from digitrec.data.styles import tilted_photo
    from digitrec.inference.files import ImageError
    from digitrec.inference.preprocess import to_mnist

    rng = np.random.default_rng(seed)
    images, kept = [], []
    for row, label in zip(rows, labels, strict=True):
        try:
            images.append(to_mnist(tilted_photo(row, rng)))
        except ImageError:
            continue
        kept.append(label)
    return np.stack(images), np.array(kept)


def accuracy_of(model: str | Path, images: np.ndarray, labels: np.ndarray) -> float:
    from digitrec.pipeline.run import probabilities

    return float((probabilities(model, images).argmax(1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the champion to correct (.keras)")
    parser.add_argument("--seed", type=int, default=0, help="training seed of both runs")
    args = parser.parse_args()

    from digitrec import registry
    from digitrec.data.kaggle import load_answers, load_csv
    from digitrec.data.sources import locate_data
    from digitrec.loop import feedback
    from digitrec.pipeline.run import probabilities
    from flows.training import train

    registry.register(registry.ModelRecord(run_id="champion", model_path=args.model), promote=True)
    champion = registry.resolve_model("champion")
    data = locate_data(None)
    test = load_csv(data.test_csv, kind="test").images
    answers = load_answers(data.answers_csv)
    a_x, a_y = seen_images(test[SET_A.start : SET_A.stop], answers[SET_A.start : SET_A.stop], 1)
    b_x, b_y = seen_images(test[SET_B.start : SET_B.stop], answers[SET_B.start : SET_B.stop], 2)
    print(f"photos read: set A {len(a_y)} of {len(SET_A)}, set B {len(b_y)} of {len(SET_B)}")
    said = probabilities(champion, a_x).argmax(1)
    wrong = np.flatnonzero(said != a_y)
    rows = [
        feedback.FeedbackRow.new(str(a_y[i]), a_x[i], "cli", "experiment", predicted=str(said[i]))
        for i in wrong
    ]
    feedback.add(rows)
    print(f"set A: champion wrong on {len(wrong)} of {len(a_y)} photos; labelled as feedback")

    results = {"champion": {"set_b": accuracy_of(champion, b_x, b_y)}}
    for name, use in (("retrained without feedback", False), ("retrained with feedback", True)):
        started = time.perf_counter()
        run = train(profile="fast", seed=args.seed, promote=False, feedback=use, force=True)
        results[name] = {
            "set_b": accuracy_of(run.model, b_x, b_y),
            "hidden_test": run.hidden_test_accuracy,
            "validation": run.val_accuracy,
            "seconds": round(time.perf_counter() - started, 1),
            "run": run.run_dir,
        }
    results["feedback_rows"] = len(rows)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
