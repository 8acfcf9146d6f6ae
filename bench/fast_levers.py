"""Goal 1 of "speed" (#16): which levers make the fast recipe reach 99.5% validation sooner.
Each variant runs in its own process (the dtype policy and thread pools are global), on the
same 90/10 split as bench/time_to_accuracy.py, and prints one JSON line: its time to each
validation threshold, its training seconds and its hidden-test accuracy.

    .venv/bin/python bench/fast_levers.py --variants ref,aug-only-6,bf16-aug-only-6

A variant is `plain` epochs without augmentation (continued from, as the flow does) then
`augmented` epochs with it, on one architecture, batch size, peak learning rate and policy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


@dataclass(frozen=True)
class Variant:
    plain: int = 2
    augmented: int = 8
    architecture: str = "compact"
    batch_size: int = 256
    learning_rate: float = 6e-3
    policy: str = "float32"
    warmup: float = 0.15
    elastic: float = 0.0  # Augmentation.elastic, px RMS
    low_resolution: float = 0.0  # Augmentation.low_resolution, share of images
    seed: int = 0  # weights, shuffling and augmentation (the split stays seed 0)
    all_rows: bool = False  # train on the validation rows too (its accuracy then means nothing)


VARIANTS = {
    "ref": Variant(),  # the shipped fast recipe: 2 plain + 8 augmented epochs
    "plain1-aug6": Variant(plain=1, augmented=6),
    "aug-only-8": Variant(plain=0, augmented=8),
    "aug-only-6": Variant(plain=0, augmented=6),
    "aug-only-6-b512": Variant(plain=0, augmented=6, batch_size=512, learning_rate=1e-2),
    "bf16-aug-only-6": Variant(plain=0, augmented=6, policy="mixed_bfloat16"),
    "bf16-ref": Variant(policy="mixed_bfloat16"),
    "bf16-plain1-aug6": Variant(plain=1, augmented=6, policy="mixed_bfloat16"),
    "bf16-plain1-aug7": Variant(plain=1, augmented=7, policy="mixed_bfloat16"),
    "slim-aug-only-6": Variant(plain=0, augmented=6, architecture="slim"),
    # The standard profile's recipe (2 plain + 30 augmented epochs, peak 3e-3) in bfloat16,
    # without and with elastic distortions (1.5 px RMS, Simard et al.'s magnitude, not tuned).
    "bf16-std30": Variant(plain=2, augmented=30, learning_rate=3e-3, policy="mixed_bfloat16"),
    # Goal 2's "final members on all 42,000 rows": the same recipe on train + validation.
    "bf16-std30-all": Variant(
        plain=2, augmented=30, learning_rate=3e-3, policy="mixed_bfloat16", all_rows=True
    ),
    "bf16-std30-seed1": Variant(
        plain=2, augmented=30, learning_rate=3e-3, policy="mixed_bfloat16", seed=1
    ),
    "bf16-std30-all-seed1": Variant(
        plain=2, augmented=30, learning_rate=3e-3, policy="mixed_bfloat16", all_rows=True, seed=1
    ),
    "bf16-std30-elastic": Variant(
        plain=2, augmented=30, learning_rate=3e-3, policy="mixed_bfloat16", elastic=1.5
    ),
    # The fast recipe with a share of each augmented batch seen at a coarse resolution.
    "bf16-plain1-aug6-lowres": Variant(
        plain=1, augmented=6, policy="mixed_bfloat16", low_resolution=0.25
    ),
    "bf16-plain1-aug6-seed1": Variant(plain=1, augmented=6, policy="mixed_bfloat16", seed=1),
    # Half of each augmented batch coarse: does the digit model read other writers better?
    "bf16-plain1-aug6-lowres50": Variant(
        plain=1, augmented=6, policy="mixed_bfloat16", low_resolution=0.5
    ),
    "bf16-plain1-aug6-lowres-seed1": Variant(
        plain=1, augmented=6, policy="mixed_bfloat16", low_resolution=0.25, seed=1
    ),
}


def slim(layers) -> list:
    """The compact CNN without its full-resolution layer: the first convolution strides."""
    from digitrec.modeling.architectures import conv_bn

    return [
        *conv_bn(layers, 32, kernel=5, strides=2),  # (14, 14, 32)
        *conv_bn(layers, 32),
        *conv_bn(layers, 64, strides=2),  # (7, 7, 64)
        *conv_bn(layers, 64),
        *conv_bn(layers, 128, padding="valid"),  # (5, 5, 128)
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.25),
    ]


def run_variant(name: str) -> dict:
    import numpy as np
    from time_to_accuracy import Clock, load_benchmark_split

    from digitrec.modeling.architectures import ARCHITECTURES
    from digitrec.modeling.augmentation import Augmentation
    from digitrec.modeling.training import TrainConfig, fit, predict_proba
    from digitrec.storage import write_with

    v = VARIANTS[name]
    ARCHITECTURES["slim"] = slim
    train, val, test, answers = load_benchmark_split()
    if v.all_rows:
        train = tuple(np.concatenate(parts) for parts in zip(train, val, strict=True))
    clock = Clock()
    on_epoch = lambda e, n, logs, s: clock.record(logs["val_accuracy"])  # noqa: E731
    base = TrainConfig(
        v.architecture,
        epochs=v.plain,
        batch_size=v.batch_size,
        peak_learning_rate=v.learning_rate,
        warmup_fraction=v.warmup,
        augmentation=None,
        precision=v.policy,
        seed=v.seed,
    )
    start = None
    if v.plain:
        plain = fit(base, train, val, on_epoch=on_epoch)
        start = write_with(f"/tmp/fast-levers-{name}.keras", plain.model.save)
    final = fit(
        replace(
            base,
            epochs=v.augmented,
            augmentation=Augmentation(elastic=v.elastic, low_resolution=v.low_resolution),
        ),
        train,
        val,
        initial_model_path=start,
        on_epoch=on_epoch,
    )
    hidden = float((predict_proba(final.model, test).argmax(1) == answers).mean())
    saved = write_with(f"/tmp/fast-levers-{name}-final.keras", final.model.save)
    return {
        "variant": name,
        **v.__dict__,
        "train_seconds": round(clock.curve[-1][0], 1),
        "final_val_accuracy": clock.curve[-1][1],
        "hidden_test_accuracy": round(hidden, 5),
        "reached": clock.reached(),
        "parameters": int(final.model.count_params()),
        "model": str(saved),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", default="ref,aug-only-6")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: run this variant
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_variant(args.one)), flush=True)
        return
    for name in args.variants.split(","):
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r}; choose from {sorted(VARIANTS)}")
    for name in args.variants.split(","):
        print(f"== {name} (load {os.getloadavg()[0]:.1f})", flush=True)
        subprocess.run([sys.executable, __file__, "--one", name], check=True)


if __name__ == "__main__":
    main()
