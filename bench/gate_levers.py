"""Goals 1 and 3 of "Faster to 99.5%" (#16): cheaper fits of the "not a digit" gate, scored the
way the pipeline and bench/bench_rejection.py score the shipped one. Each variant retrains the
gate of a finished run on that run's cached inputs (digits and non-digits), sets its threshold
on the run's validation digits, and reports what it rejects of held-out sets no run trains on.

    .venv/bin/python bench/gate_levers.py --run var/runs/<run-id> --variants ref,epochs3,bf16

Every variant runs in its own process (Keras' dtype policy and thread pools are global), one
after the other, and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_SEED = 424_242  # bench/bench_rejection.py's seed: no training run draws from it


@dataclass(frozen=True)
class Variant:
    epochs: int = 5
    share: float = 1.0  # of the cached training digits and non-digits, drawn at random
    precision: str = "float32"


BF16 = "mixed_bfloat16"
VARIANTS = {
    "ref": Variant(),  # the gate until 2026-12-05
    "epochs3": Variant(epochs=3),
    "epochs2": Variant(epochs=2),
    "bf16": Variant(precision=BF16),
    "bf16-epochs3": Variant(epochs=3, precision=BF16),  # shipped since 2026-12-05
    "bf16-epochs4": Variant(epochs=4, precision=BF16),
    "bf16-share60": Variant(epochs=3, share=0.6, precision=BF16),
    "bf16-half": Variant(epochs=3, share=0.5, precision=BF16),
    "bf16-half-epochs5": Variant(epochs=5, share=0.5, precision=BF16),
    "bf16-third-epochs6": Variant(epochs=6, share=1 / 3, precision=BF16),
}


def run_context(run_dir: Path):
    """The RunContext of a finished run, rebuilt from its folder (embedded data)."""
    from digitrec.data.embedded import embedded_data_dir
    from digitrec.data.sources import DataPaths
    from digitrec.pipeline.records import RunContext

    return RunContext(run_dir, DataPaths.of(embedded_data_dir()), run_dir / "split.npz", seed=0)


def subsample(images, share: float, seed: int):
    """A random `share` of the images, in their order. The cached inputs are stored part by part
    (raw, redrawn, photographed): a random share keeps each part's proportion, as a smaller
    render would."""
    import numpy as np

    if share >= 1:
        return images
    picked = np.random.default_rng(seed).permutation(len(images))[: int(len(images) * share)]
    return images[np.sort(picked)]


def run_variant(name: str, run_dir: Path) -> dict:
    from digitrec.data.kaggle import load_csv
    from digitrec.inference.rejection import combined_score
    from digitrec.modeling.rejection import gate_scores, threshold_for, train_gate
    from digitrec.pipeline.gate_renders import make_nondigits, photographed
    from digitrec.pipeline.rejection import gate_images
    from digitrec.pipeline.run import load_split, probabilities

    variant = VARIANTS[name]
    run = run_context(run_dir)
    inputs = gate_images(run)  # from the cache the run filled
    keep = lambda a: subsample(a, variant.share, run.seed)  # noqa: E731
    started = time.perf_counter()
    gate = train_gate(
        keep(inputs.digits), keep(inputs.nondigits), run.seed, variant.epochs, variant.precision
    )  # returned in float32, as the pipeline scores and exports it
    seconds = time.perf_counter() - started
    model = str(run_dir / "model.keras")
    train, _, val_idx = load_split(run)
    hidden = load_csv(run.data.test_csv, kind="test").images
    sets = {
        "validation digits": train.images[val_idx],
        "held-out drawn non-digits": inputs.held_out,
        "hidden-test digits": hidden,
        "photo-like hidden-test digits": photographed(hidden[:2000], BENCH_SEED),
        "photo-like non-digits": photographed(make_nondigits(2000, BENCH_SEED), BENCH_SEED + 1),
    }
    scores = {
        k: combined_score(gate_scores(gate, v), probabilities(model, v).max(1))
        for k, v in sets.items()
    }
    threshold = threshold_for(scores["validation digits"])
    rejected = {k: round(float((v >= threshold).mean()), 5) for k, v in scores.items()}
    return {"variant": name, **variant.__dict__, "fit_seconds": round(seconds, 1), **rejected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished fast run's folder")
    parser.add_argument("--variants", default="ref,epochs3,bf16")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: run this variant
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_variant(args.one, args.run.resolve())), flush=True)
        return
    names = args.variants.split(",")
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
    for name in names:
        command = [sys.executable, __file__, "--run", str(args.run), "--one", name]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
