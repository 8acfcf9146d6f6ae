"""What averaging bought: the hidden-test accuracy of each member of an ensemble run, of the
mean of its first k members, and of the mean of each architecture's members, on the 28,000
held-back rows of the embedded data.

    .venv/bin/python bench/ensemble_members.py var/runs/<ensemble run id>
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from digitrec.data.embedded import ensure_embedded_data
from digitrec.data.kaggle import load_answers, load_csv
from digitrec.modeling.training import predict_proba


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
    probs, architectures = [], []
    print("| model | architecture | hidden test | errors |")
    print("| --- | --- | ---: | ---: |")

    def row(name: str, architecture: str, p: np.ndarray) -> None:
        wrong = int(np.sum(p.argmax(1) != answers))
        print(f"| {name} | {architecture} | {1 - wrong / len(answers):.4%} | {wrong} |")

    for path in paths:
        stage = json.loads((args.run_dir / "stages" / f"{path.stem}.json").read_text())
        architectures.append(stage["architecture"])
        member = keras.saving.load_model(path, compile=False)
        probs.append(predict_proba(member, images))  # (28000, 10)
        row(path.stem, architectures[-1], probs[-1])
    for k in range(2, len(probs) + 1):
        row(f"mean of members 1-{k}", "", np.mean(probs[:k], axis=0))
    for architecture in dict.fromkeys(architectures):
        group = [p for p, a in zip(probs, architectures, strict=True) if a == architecture]
        if 1 < len(group) < len(probs):
            row(f"mean of the {len(group)} {architecture} members", architecture, np.mean(group, 0))


if __name__ == "__main__":
    main()
