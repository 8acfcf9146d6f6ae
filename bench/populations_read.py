"""How well digit models read other writers' populations (bench/populations.py), the digit
model alone: each image through `to_mnist` and the Keras model, no gate, no calibration. The
images are each population's 400-1,399 (bench/loop_learning.py's never-labelled rest).

    .venv/bin/python bench/populations_read.py --model lowres25=/tmp/a.keras --model lowres50=...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.populations import POPULATIONS, population  # noqa: E402
from digitrec.hardware import this_cpu  # noqa: E402
from digitrec.inference.preprocess import to_mnist  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH.keras")
    parser.add_argument("--populations", default=",".join(POPULATIONS))
    args = parser.parse_args()
    import keras

    from digitrec.arrays import model_input

    sets = {}
    for name in args.populations.split(","):
        items = population(name)[400:1400]
        sets[name] = (np.stack([to_mnist(image) for image, _ in items]),
                      np.array([label for _, label in items]))  # fmt: skip
    print(json.dumps({"cpu": this_cpu().describe()}), flush=True)
    for spec in args.model:
        label, path = spec.split("=", 1)
        model = keras.saving.load_model(path, compile=False)
        row = {"model": label}
        for name, (images, labels) in sets.items():
            read = model.predict(model_input(images), batch_size=512, verbose=0).argmax(1)
            row[name] = round(float((read == labels).mean()), 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
