"""What averaging bought: the hidden-test accuracy of each member of an ensemble run, and of the
mean of its first k members, on the 28,000 held-back rows of the embedded data.

    .venv/bin/python bench/ensemble_members.py var/runs/<ensemble run id>
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digitrec.data import load_answers, load_csv
from digitrec.dataset import ensure_embedded_data
from digitrec.training import predict_proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()

    import keras

    data = ensure_embedded_data()
    images = load_csv(data.test_csv, kind="test").images
    answers = load_answers(data.test_labels_csv)
    paths = sorted(
        (args.run_dir / "models").glob("member-*.keras"), key=lambda p: int(p.stem.split("-")[1])
    )
    if len(paths) < 2:
        raise SystemExit(f"{args.run_dir}: fewer than 2 member models in models/")
    probs = []
    print("| model | hidden test |")
    print("| --- | ---: |")
    for path in paths:
        member = keras.saving.load_model(path, compile=False)
        probs.append(predict_proba(member, images))  # (28000, 10)
        print(f"| {path.stem} | {np.mean(probs[-1].argmax(1) == answers):.4%} |")
    for k in range(2, len(probs) + 1):
        mean = np.mean(probs[:k], axis=0)
        print(f"| mean of members 1-{k} | {np.mean(mean.argmax(1) == answers):.4%} |")


if __name__ == "__main__":
    main()
