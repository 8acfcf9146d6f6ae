"""Reading written numbers two ways side by side, on the same synthetic numbers with the same
model: one digit per group of ink (`segment.read_digits`), the recognition-driven cuts
(`digitrec.inference.numbers.read_number`), or the number reader (`read_written`: the run's
`model.number_reader.keras`, on LiteRT); `--before` and `--after` pick two (default: cuts, reader).

    .venv/bin/python bench/written_numbers.py [--model PATH.keras] [--per-length 12]
        [--singles 2000]

For each render (photo-like ink on paper, drawing-pad strokes), spacing (apart, close,
touching) and length (2-10): exact-match accuracy, digit-count accuracy, per-digit accuracy
(1 - edit distance / length) and ms per number (reading the image, finding the digits and the
model calls). Then single photo-like digits, both ways. Digits come from MNIST's original test
split, only rows the embedded Kaggle split holds back from training.
--model defaults to the newest runs/*/model.keras under DIGITREC_HOME, else a compact CNN
trained here as tests/conftest.py's `strong_model_path` is (about a minute); bench/train_reader.py
puts a reader beside any model.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository instead of bench/ first on the path: this file would shadow the standard
# library's `numbers` (which numpy imports) when run as a script.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from digitrec.arrays import model_input  # noqa: E402
from digitrec.data.embedded import load_mnist_arrays  # noqa: E402
from digitrec.data.numbers import SPACINGS, sample_numbers  # noqa: E402
from digitrec.data.photos import photo_like  # noqa: E402
from digitrec.hardware import this_cpu  # noqa: E402
from digitrec.inference.files import ImageError  # noqa: E402
from digitrec.inference.numbers import read_number, read_written  # noqa: E402
from digitrec.inference.segment import read_digits  # noqa: E402

SEED = 20_261_207
# How digits are found: one per group of ink, the cut search, or the number reader (the cuts'
# single-digit check first: a group read whole with near certainty stays one digit).
WAYS = ("groups", "cuts", "reader", "reader+digits")
MNIST_TEST_START = 60_000  # MNIST's original test split starts here in the embedded arrays


def held_back_test_rows() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test digits (N, 28, 28) and labels that the embedded Kaggle split keeps out of
    training (its hidden test rows), so no model trained on the embedded data has seen them."""
    from digitrec.data.split import kaggle_split

    images, labels = load_mnist_arrays()
    _, _, hidden, _ = kaggle_split(np.arange(len(labels)), labels)
    rows = np.sort(hidden[hidden >= MNIST_TEST_START])
    return images[rows], labels[rows]


def other_writer_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's UCI digits (43 writers, not MNIST's; `digitrec.data.styles`) as
    MNIST-style (N, 28, 28): their ink in a 20-px box, centred, as numbers are written from."""
    from digitrec.data.styles import other_writers
    from digitrec.inference.preprocess import centre_digit

    pairs = list(other_writers())
    return np.stack([centre_digit(image) for image, _ in pairs]), np.array([y for _, y in pairs])


def default_model() -> Path:
    """The newest trained run's model, else a quick compact CNN (trained once, then cached)."""
    from digitrec.storage import cache_dir, runs_dir

    runs = sorted(runs_dir().glob("*/model.keras"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    path = cache_dir() / "bench-numbers" / "quick.keras"
    return path if path.is_file() else quick_model(path)


def quick_model(path: Path) -> Path:
    """tests/conftest.py's strong model: compact CNN, 3 epochs on 6,000 images, LiteRT export."""
    from digitrec.inference.runtimes import RUNTIMES, export_runtime
    from digitrec.modeling.training import TrainConfig, fit
    from digitrec.storage import write_with

    images, labels = load_mnist_arrays()
    config = TrainConfig("compact", epochs=3, batch_size=64, augmentation=None, seed=0)
    result = fit(config, (images[10_000:16_000], labels[10_000:16_000]))
    write_with(path, result.model.save)
    export_runtime(RUNTIMES["litert"], result.model, path, images[60_000:60_512])
    return path


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two digit strings."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def read(gray: np.ndarray, predictor, way: str, reader=None) -> tuple[str, float]:
    """(digits read, seconds): the image's digits found one of the WAYS, then (unless the number
    reader read them) one digit-model call on them."""
    started = time.perf_counter()
    try:
        digits = found_digits(gray, predictor, way, reader)
    except ImageError:  # no ink found: read as nothing, a wrong reading
        digits = ""
    return digits, time.perf_counter() - started


def found_digits(gray: np.ndarray, predictor, way: str, reader) -> str:
    """The digits read one of the WAYS."""
    if way.startswith("reader"):
        found = read_written(gray, predictor, reader)
        pieces, probabilities = found.images, found.probabilities
        if probabilities is not None and way == "reader+digits":  # both models' average
            probabilities = (probabilities + predictor(model_input(np.stack(pieces)))) / 2
    else:
        pieces = read_number(gray, predictor) if way == "cuts" else read_digits(gray)
        probabilities = None
    if probabilities is None:
        probabilities = predictor(model_input(np.stack(pieces)))  # (k, 10)
    return "".join(str(int(d)) for d in probabilities.argmax(axis=1))


def score(truths: list[str], reads: list[tuple[str, float]]) -> dict:
    """Exact, count and per-digit accuracy and ms per number of one set's readings."""
    pairs = list(zip([digits for digits, _ in reads], truths, strict=True))
    return {
        "exact": float(np.mean([a == b for a, b in pairs])),
        "count": float(np.mean([len(a) == len(b) for a, b in pairs])),
        "digit": float(np.mean([max(0, 1 - edit_distance(a, b) / len(b)) for a, b in pairs])),
        "ms": 1000 * float(np.mean([seconds for _, seconds in reads])),
    }


def measure_numbers(predictor, reader, images, labels, args) -> list[dict]:
    """One row per render, spacing and length: before and after on the same numbers."""
    rows = []
    for render in args.renders:
        for spacing in args.spacings:
            for length in range(args.lengths[0], args.lengths[1] + 1):
                seed = SEED + 1000 * length + 10 * list(SPACINGS).index(spacing)
                made = list(
                    sample_numbers(
                        images, labels, args.per_length, (length, length), spacing, render, seed
                    )
                )
                truths = [number.digits for number in made]
                before = score(
                    truths, [read(n.image, predictor, args.before, reader) for n in made]
                )
                after = score(truths, [read(n.image, predictor, args.after, reader) for n in made])
                rows.append(dict(render=render, spacing=spacing, length=length, n=len(made)))
                rows[-1].update(before=before, after=after)
                print(row_line(rows[-1]), flush=True)
    return rows


def measure_singles(predictor, reader, images, labels, args) -> dict:
    """Single photo-like digits: the share read as one right digit, before and after."""
    rng = np.random.default_rng(SEED)
    photos = [photo_like(image, rng) for image in images[: args.singles]]
    truths = [str(int(label)) for label in labels[: args.singles]]
    before = score(truths, [read(photo, predictor, args.before, reader) for photo in photos])
    after = score(truths, [read(photo, predictor, args.after, reader) for photo in photos])
    return {"n": len(photos), "before": before, "after": after}


def row_line(row: dict) -> str:
    """A markdown table row: before | after, exact / count / per-digit, ms."""
    cells = [row["render"], row["spacing"], str(row["length"]), str(row["n"])]
    for side in ("before", "after"):
        s = row[side]
        cells += [f"{s['exact']:.1%}", f"{s['count']:.1%}", f"{s['digit']:.1%}", f"{s['ms']:.1f}"]
    return "| " + " | ".join(cells) + " |"


def summary(rows: list[dict]) -> list[str]:
    """Lines pooling the lengths of each render and spacing (numbers weigh equally)."""
    lines = []
    for render in dict.fromkeys(r["render"] for r in rows):
        for spacing in dict.fromkeys(r["spacing"] for r in rows):
            chosen = [r for r in rows if r["render"] == render and r["spacing"] == spacing]
            pooled = dict(render=render, spacing=spacing, length="all", n=0)
            pooled["n"] = sum(r["n"] for r in chosen)
            for side in ("before", "after"):
                pooled[side] = {
                    key: sum(r[side][key] * r["n"] for r in chosen) / pooled["n"]
                    for key in ("exact", "count", "digit", "ms")
                }
            lines.append(row_line(pooled))
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model.keras (default: see above)")
    parser.add_argument("--runtime", default="litert", help="runtime the model runs on")
    parser.add_argument("--per-length", type=int, default=12, help="numbers per length")
    parser.add_argument("--lengths", type=int, nargs=2, default=(2, 10), help="shortest longest")
    parser.add_argument("--spacings", nargs="+", default=list(SPACINGS), choices=list(SPACINGS))
    parser.add_argument("--renders", nargs="+", default=["photo", "canvas"])
    parser.add_argument("--singles", type=int, default=2000, help="single digits to read")
    parser.add_argument("--before", default="cuts", choices=WAYS, help="the way compared ...")
    parser.add_argument("--after", default="reader", choices=WAYS, help="... with this one")
    parser.add_argument("--reader", type=Path, help="a number_reader.keras (default: the model's)")
    parser.add_argument(
        "--writers",
        default="mnist",
        choices=("mnist", "uci"),
        help="digits from MNIST's held-back test rows, or from the UCI writers",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from digitrec.inference.number_reader import load_line_predictor
    from digitrec.inference.runtimes import load_predictor

    model = args.model or default_model()
    predictor, runtime = load_predictor(model, args.runtime)
    reader = (
        load_line_predictor(args.reader or model) if "reader" in (args.before, args.after) else None
    )
    if reader is None and "reader" in (args.before, args.after):
        raise SystemExit(f"no number reader beside {args.reader or model}")
    images, labels = held_back_test_rows() if args.writers == "mnist" else other_writer_digits()
    print(f"CPU: {this_cpu().describe()}\nmodel: {model} ({runtime}); digits: {len(labels)} rows")
    sides = " | ".join(f"{side} exact | count | per-digit | ms" for side in ("before", "after"))
    print(f"| render | spacing | length | n | {sides} |")
    print("|" + " --- |" * 4 + " ---: |" * 8)
    rows = measure_numbers(predictor, reader, images, labels, args)
    print("\n".join(["", "pooled over lengths:", *summary(rows)]))
    singles = measure_singles(predictor, reader, images, labels, args) if args.singles else None
    if singles is not None:
        b, a = singles["before"], singles["after"]
        print(f"\nsingle photo-like digits (n={singles['n']}), before / after:")
        print(f"  read right: {b['exact']:.2%} / {a['exact']:.2%}")
        print(f"  read as one digit: {b['count']:.2%} / {a['count']:.2%}")
        print(f"  ms per digit: {b['ms']:.2f} / {a['ms']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "singles": singles}, indent=1))


if __name__ == "__main__":
    main()
