"""Goal 1 of "Faster to 99.5%" (#16): does rendering the gate's inputs slow the training beside
it by taking a core or by holding the GIL? One plain and one augmented epoch of the compact
CNN (bfloat16) on 37,800 rows, with a share of the gate's renders done beside them in a thread
(as the flow does), in a spawned process, or not at all. Prints one JSON line.

    .venv/bin/python bench/render_beside_training.py {none,thread,process}
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS = 37_800  # a fast run's training rows


def render(digits) -> float:
    """8,000 gate digits, 4,000 drawn and 2,000 photographed non-digits; returns seconds."""
    from digitrec.pipeline import gate_renders

    started = time.perf_counter()
    with gate_renders.one_opencv_thread():
        gate_renders.gate_digits(digits, 0)
        gate_renders.make_nondigits(4000, 0)
        gate_renders.photographed(gate_renders.make_nondigits(2000, 1), 0)
    return round(time.perf_counter() - started, 1)


def main(mode: str) -> None:
    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv
    from digitrec.modeling.profiles import COARSE, FAST
    from digitrec.modeling.training import fit

    data = load_csv(ensure_embedded_data().train_csv, kind="train")
    x, y = data.images[:ROWS], data.labels[:ROWS]
    rendered: dict[str, float] = {}
    if mode == "thread":
        worker = threading.Thread(target=lambda: rendered.setdefault("seconds", render(x[:8000])))
        worker.start()
    elif mode == "process":
        pool = multiprocessing.get_context("spawn").Pool(1)
        pending = pool.apply_async(render, (x[:8000],))
    elif mode != "none":
        raise SystemExit(f"unknown mode {mode!r}: none, thread or process")
    started = time.perf_counter()
    plain = fit(FAST.candidates[0], (x, y))  # the compact candidate: 1 plain epoch, bfloat16
    augmented = fit(replace(FAST.candidates[0], augmentation=COARSE), (x, y))
    training = time.perf_counter() - started
    if mode == "thread":
        worker.join()
    elif mode == "process":
        rendered["seconds"] = pending.get()
        pool.close()
    print(
        json.dumps(
            {
                "renders": mode,
                "plain_epoch_s": round(plain.seconds, 1),
                "augmented_epoch_s": round(augmented.seconds, 1),
                "training_s": round(training, 1),
                "render_s": rendered.get("seconds"),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "none")
