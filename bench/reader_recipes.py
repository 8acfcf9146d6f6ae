"""Number-reader recipes side by side: each trained for the same steps on the same synthetic
numbers, and read straight from the reader (no ink groups, no digit model).

    .venv/bin/python bench/reader_recipes.py --steps 1000 --variants base,gru,s2d \
        [--lines 16000] [--per-spacing 300] [--learning-rate 3e-3]

Variants: base (`build_reader` as it is), gru (a bidirectional GRU instead of the two 1-D
convolutions), s2d (a strided 2x2 stem instead of the full-resolution convolution and pooling).

Training numbers are written with the embedded split's training rows, checks with MNIST's
test rows that the split holds back (bench/written_numbers.py's), 2-10 digits, paper, photo
and pad renders mixed. Both sets are cached under /tmp so every variant sees the same lines.
Prints one JSON line per variant: seconds per step, then exact, digit-count and per-digit
accuracy by spacing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from bench.written_numbers import MNIST_TEST_START, edit_distance  # noqa: E402
from digitrec.data.embedded import load_mnist_arrays  # noqa: E402
from digitrec.data.numbers import SPACINGS  # noqa: E402
from digitrec.data.split import kaggle_split  # noqa: E402
from digitrec.hardware import this_cpu  # noqa: E402
from digitrec.pipeline.number_lines import number_strings, synthetic_lines  # noqa: E402
from digitrec.pipeline.number_reading import read_batch  # noqa: E402


def cached(name: str, make) -> tuple[np.ndarray, np.ndarray]:
    path = Path("/tmp") / f"reader-lines-{name}.npz"
    if not path.is_file():
        x, y, _ = make()
        np.savez(path, x=x, y=y)
    saved = np.load(path)
    return saved["x"], saved["y"]


def datasets(lines: int, per_spacing: int):
    images, labels = load_mnist_arrays()
    train_rows, _, hidden, _ = kaggle_split(np.arange(len(labels)), labels)
    rows = np.sort(train_rows)
    test = np.sort(hidden[hidden >= MNIST_TEST_START])
    train = cached(f"train-{lines}", lambda: synthetic_lines(images[rows], labels[rows], lines, 0))
    checks = {
        spacing: cached(
            f"check-{spacing}-{per_spacing}",
            lambda s=spacing: synthetic_lines(
                images[test], labels[test], per_spacing, 7, lengths=(2, 10), shares={s: 1.0}
            ),
        )
        for spacing in SPACINGS
    }
    return train, checks


def scores(reads: list[str], truths: list[str]) -> dict[str, float]:
    pairs = list(zip(reads, truths, strict=True))
    return {
        "exact": round(100 * np.mean([r == t for r, t in pairs]), 1),
        "count": round(100 * np.mean([len(r) == len(t) for r, t in pairs]), 1),
        "per_digit": round(100 * (1 - sum(edit_distance(r, t) for r, t in pairs)
                                  / sum(len(t) for _, t in pairs)), 2),
    }  # fmt: skip


def progress(variant: str):
    return lambda step, loss: print(f"  {variant} step {step}: loss {loss:.3f}", flush=True)


def read_checks(model, checks: dict) -> dict[str, dict[str, float]]:
    """Exact, count and per-digit accuracy of a reader on each spacing's check lines."""
    predict = lambda batch: np.asarray(model.predict(batch, batch_size=256, verbose=0))  # noqa: E731
    return {
        spacing: scores(read_batch(predict, lines), number_strings(targets))
        for spacing, (lines, targets) in checks.items()
    }


def variant_reader(stem: str, head: str):
    """A reader builder like `build_reader`, with another stem or sequence head."""
    from functools import partial

    from digitrec.modeling import number_reader

    def body(layers) -> list:
        from digitrec.modeling.architectures import conv_bn

        if stem == "s2d":
            trunk = [*conv_bn(layers, 32, kernel=2, strides=2), *conv_bn(layers, 32)]
        else:
            trunk = [*conv_bn(layers, 16), layers.MaxPooling2D(2), *conv_bn(layers, 32)]
        trunk += [layers.MaxPooling2D(2), *conv_bn(layers, 48)]
        trunk += [layers.Permute((2, 1, 3)), layers.Reshape((number_reader.STEPS, 7 * 48))]
        trunk += [layers.Dense(96, use_bias=False), layers.BatchNormalization(), layers.ReLU()]
        if head == "gru":
            trunk += [layers.Bidirectional(layers.GRU(64, return_sequences=True))]
        else:
            trunk += [layers.Conv1D(96, 5, padding="same", activation="relu") for _ in range(2)]
        return [*trunk, layers.Dropout(0.1)]

    return partial(number_reader.build_reader, body=body)


VARIANTS = {
    "gru": variant_reader("pool", "gru"),
    "s2d": variant_reader("s2d", "conv"),
    "s2d-gru": variant_reader("s2d", "gru"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=16_000)
    parser.add_argument("--per-spacing", type=int, default=300)
    parser.add_argument("--variants", default="own,digit")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--evaluate", type=Path, nargs="*", default=[], help="trained readers")
    args = parser.parse_args()
    import keras

    from digitrec.hardware import POLICIES, choose_precision
    from digitrec.modeling import number_reader
    from digitrec.modeling.number_reader import ReaderConfig, train_reader

    base = number_reader.build_reader

    precision = POLICIES[choose_precision().precision]
    (x, y), checks = datasets(args.lines, args.per_spacing)
    print(f"CPU: {this_cpu().describe()}; {len(x)} training lines; {precision}", flush=True)
    for path in args.evaluate:
        model = keras.saving.load_model(path, compile=False)
        print(json.dumps({"reader": str(path), **read_checks(model, checks)}), flush=True)
    for variant in filter(None, args.variants.split(",")):
        config = ReaderConfig(steps=args.steps, precision=precision,
                              learning_rate=args.learning_rate)  # fmt: skip
        number_reader.build_reader = VARIANTS.get(variant, base)
        started = time.perf_counter()
        model, seconds = train_reader(x, y, config, progress(variant))
        result = {
            "variant": variant, "steps": args.steps, "s_per_step": round(seconds / args.steps, 3),
            "wall_s": round(time.perf_counter() - started, 1), "params": model.count_params(),
        }  # fmt: skip
        print(json.dumps({**result, **read_checks(model, checks)}), flush=True)


if __name__ == "__main__":
    main()
