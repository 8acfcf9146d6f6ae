"""Training throughput of each architecture in float32 and in bfloat16 on this CPU, and what
`auto` chooses here. Each (architecture, precision) pair trains in a fresh process, the pairs
alternating over rounds, so drift in the machine's speed hits both precisions alike.

    .venv/bin/python bench/precision.py [--rows 4096] [--rounds 2] [--architectures compact]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitrec.hardware import POLICIES, choose_precision, this_cpu  # noqa: E402

BATCH = {"baseline": 128, "compact": 256, "strong": 128, "gate": 256}


def measure(architecture: str, precision: str, rows: int) -> dict:
    """Images/s of 2 epochs over `rows` training images (the first epoch also compiles)."""
    import keras
    import numpy as np

    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv
    from digitrec.modeling.architectures import build_model
    from digitrec.modeling.rejection import build_gate
    from digitrec.modeling.training import TrainConfig, compile_model, make_dataset

    train = load_csv(ensure_embedded_data().train_csv)
    images, labels = train.images[:rows], train.labels[:rows]
    config = TrainConfig(architecture, epochs=2, batch_size=BATCH[architecture])
    policy = POLICIES[precision]
    if architecture == "gate":  # the gate's own head: a binary output
        model = build_gate(0, policy)
        labels = (labels % 2).astype(np.float32)  # any binary target times the same compute
        model.compile(optimizer="adam", loss="binary_crossentropy", steps_per_execution=4)
        fit_data = (images.reshape(-1, 28, 28, 1).astype(np.float32), labels)
        started = time.perf_counter()
        model.fit(*fit_data, batch_size=config.batch_size, epochs=1, verbose=0)
        first = time.perf_counter() - started
        started = time.perf_counter()
        model.fit(*fit_data, batch_size=config.batch_size, epochs=1, verbose=0)
    else:
        model = build_model(architecture, precision=policy)
        compile_model(model, config, steps=2 * rows // config.batch_size)
        data = make_dataset(images, labels, config, training=True)
        started = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        first = time.perf_counter() - started
        started = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    del keras
    return {"images_per_second": rows / seconds, "first_epoch_seconds": first}


def run_child(architecture: str, precision: str, rows: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", architecture, precision, "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--architectures", default="baseline,compact,gate")
    parser.add_argument("--child", nargs=2, metavar=("ARCHITECTURE", "PRECISION"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.rows)))
        return
    cpu, auto = this_cpu(), choose_precision("auto")
    print(f"CPU: {cpu.describe()}")
    print(f"auto chooses {auto.precision}: {auto.reason}")
    print("| architecture | float32 img/s | bfloat16 img/s | bf16 / f32 |")
    print("| --- | ---: | ---: | ---: |")
    for architecture in args.architectures.split(","):
        rates: dict[str, list[float]] = {"float32": [], "bfloat16": []}
        for _ in range(args.rounds):
            for precision in rates:
                rates[precision].append(
                    run_child(architecture, precision, args.rows)["images_per_second"]
                )
        f32, bf16 = statistics.median(rates["float32"]), statistics.median(rates["bfloat16"])
        print(f"| {architecture} | {f32:.0f} | {bf16:.0f} | {bf16 / f32:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
