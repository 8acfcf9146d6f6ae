"""Train a number reader on its own, as the train flow's `read_numbers` step does, and put it
beside a digit model (and its LiteRT export), for benchmarks and for the tests' reader.

    .venv/bin/python bench/train_reader.py --steps 3000 --out tests/data/number_reader.keras
    .venv/bin/python bench/train_reader.py --steps 3000 --beside /path/to/run/model.keras

Numbers are written with the embedded Kaggle split's training rows only (the hidden test
rows, which bench/written_numbers.py reads, are never seen), STEPS x 64 / 4 of them, as the
flow makes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from digitrec.data.embedded import load_mnist_arrays  # noqa: E402
from digitrec.data.split import kaggle_split  # noqa: E402
from digitrec.hardware import this_cpu  # noqa: E402
from digitrec.inference.number_reader import reader_path  # noqa: E402
from digitrec.pipeline.number_lines import many_lines  # noqa: E402
from digitrec.pipeline.number_reading import lines_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default=None, help="float32 or mixed_bfloat16 (auto)")
    parser.add_argument("--out", type=Path, help="write the reader here")
    parser.add_argument("--beside", type=Path, help="a model.keras to put the reader beside")
    args = parser.parse_args()
    from digitrec.hardware import POLICIES, choose_precision
    from digitrec.modeling.number_reader import ReaderConfig, train_reader

    precision = args.precision or POLICIES[choose_precision().precision]
    images, labels = load_mnist_arrays()
    train_rows, _, _, _ = kaggle_split(np.arange(len(labels)), labels)
    rows = np.sort(train_rows)
    started = time.perf_counter()
    lines = lines_for(args.steps)
    x, y, _ = many_lines(images[rows], labels[rows], lines, args.seed)
    made = time.perf_counter() - started
    config = ReaderConfig(steps=args.steps, precision=precision, seed=args.seed)
    model, seconds = train_reader(x, y, config, lambda s, loss: print(f"step {s}: loss {loss:.3f}"))
    print(f"CPU: {this_cpu().describe()}")
    print(f"{lines} numbers written in {made:.0f} s; {args.steps} steps ({precision})", end="")
    print(f" in {seconds:.0f} s")
    target = reader_path(args.beside) if args.beside else args.out
    if target is None:
        raise SystemExit("give --out or --beside")
    model.save(target)
    if args.beside:
        model.export(str(target.with_suffix(".tflite")), format="litert", verbose=False)
    print(f"saved {target}")


if __name__ == "__main__":
    main()
