"""Non-digits photographed in the held-out digit styles: the share the app refuses, either as
"blank" (unreadable) or through the model's not-a-digit gate.

    .venv/bin/python bench/nondigit_styles.py MODEL.keras [--count 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitrec.data import styles  # noqa: E402
from digitrec.inference.files import ImageError  # noqa: E402
from digitrec.inference.preprocess import to_mnist  # noqa: E402
from digitrec.inference.rejection import load_gate  # noqa: E402
from digitrec.pipeline.gate_renders import make_nondigits  # noqa: E402
from digitrec.pipeline.run import probabilities  # noqa: E402

SEED = 515_151  # no training run draws non-digits from this seed
STYLES = ("shadowed-photo", "tilted-photo", "photo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    gate = load_gate(args.model)
    if gate is None:
        raise SystemExit(f"{args.model}: no not-a-digit gate beside the model")
    nondigits = make_nondigits(args.count, SEED)
    print("| style | non-digits | blank | rejected by the gate | refused |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for style in STYLES:
        render, rng = styles.STYLES[style], np.random.default_rng(99)
        read, blank = [], 0
        for image in nondigits:
            try:
                read.append(to_mnist(render(image, rng)))
            except ImageError:
                blank += 1
        images = np.stack(read)
        rejected = int(gate.rejects(images, probabilities(args.model, images).max(1))[1].sum())
        refused = (blank + rejected) / len(nondigits)
        print(f"| {style} | {len(nondigits)} | {blank} | {rejected} | {refused:.1%} |")


if __name__ == "__main__":
    main()
