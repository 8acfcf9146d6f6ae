"""How well the champion says "not a digit", on inputs it never trained on, photographed like
`samples/`: synthetic non-digits from a seed no training run uses, photo-like renders of
hidden-test digits, and the 28,000 hidden-test rows themselves. Also the accuracy of the
accepted hidden-test digits against all of them, and the calibration error before and after.

    .venv/bin/python bench/bench_rejection.py [--model champion] [--photos 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitrec.arrays import model_input  # noqa: E402
from digitrec.data.embedded import ensure_embedded_data  # noqa: E402
from digitrec.data.kaggle import load_answers, load_csv  # noqa: E402
from digitrec.evaluation.calibration import expected_calibration_error  # noqa: E402
from digitrec.inference.rejection import load_gate  # noqa: E402
from digitrec.inference.runtimes import load_predictor  # noqa: E402
from digitrec.pipeline.gate_renders import make_nondigits, photographed  # noqa: E402
from digitrec.registry import resolve_model  # noqa: E402

SEED = 424_242  # no training run draws or photographs from this seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="champion")
    parser.add_argument("--photos", type=int, default=2000)
    args = parser.parse_args()
    model = resolve_model(args.model)
    gate = load_gate(model)
    if gate is None:
        raise SystemExit(f"{model}: no gate beside it (train with this version first)")
    data = ensure_embedded_data()
    hidden = load_csv(data.test_csv, kind="test").images
    answers = load_answers(data.test_labels_csv)
    sets = {
        "hidden-test digits (raw rows)": hidden,
        "photo-like hidden-test digits": photographed(hidden[: args.photos], SEED),
        "photo-like synthetic non-digits": photographed(
            make_nondigits(args.photos, SEED), SEED + 1
        ),
    }
    report = {"model": str(model), "threshold": gate.threshold}
    calibrated, _ = load_predictor(model)
    for name, images in sets.items():
        _, rejected = gate.rejects(images, calibrated(model_input(images)).max(1))
        report[name] = {"images": len(images), "rejected": round(float(rejected.mean()), 5)}
    raw, _ = load_predictor(model, calibrate=False)
    probs, raw_probs = calibrated(model_input(hidden)), raw(model_input(hidden))
    _, rejected = gate.rejects(hidden, probs.max(1))
    right = probs.argmax(1) == answers
    report["hidden-test accuracy, all rows"] = round(float(right.mean()), 6)
    report["hidden-test accuracy, accepted rows"] = round(float(right[~rejected].mean()), 6)
    report["hidden-test ECE before calibration"] = round(
        expected_calibration_error(raw_probs, answers), 5
    )
    report["hidden-test ECE after calibration"] = round(
        expected_calibration_error(probs, answers), 5
    )
    report["hidden-test digits changed by calibration"] = int(
        (probs.argmax(1) != raw_probs.argmax(1)).sum()
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
