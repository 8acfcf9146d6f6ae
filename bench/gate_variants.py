"""The "not a digit" gate's recipe, compared on one champion: retrain only the gate (a copy of
the home's champion run), with a share of coarse scans (`--coarse`, of digits and non-digits)
and a number of epochs, then read other writers' populations through predict (read right,
refused) and run bench/bench_rejection.py (photo-like digits and non-digits refused).

    .venv/bin/python bench/gate_variants.py --base-home /tmp/loop-base --coarse 0 --epochs 3
    .venv/bin/python bench/gate_variants.py --base-home /tmp/loop-base --coarse 0.125 --epochs 6

Each population's images 400-1,399 are read (the loop benchmark's never-labelled rest).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POPULATIONS = "uci-scan,uci-photo,fonts,strokes,thick-photo"


def retrain_gate(run_dir: Path, coarse: float, epochs: int) -> dict:
    """The gate of `run_dir`'s model retrained with these settings (DIGITREC_HOME set first)."""
    from digitrec.data.sources import locate_data
    from digitrec.hardware import choose_precision
    from digitrec.modeling import rejection as modeling
    from digitrec.pipeline import gate_renders, rejection
    from digitrec.pipeline.records import RunContext

    gate_renders.COARSE = coarse  # the cache key covers the code, not this: a fresh home each
    rejection.train_gate = functools.partial(modeling.train_gate, epochs=epochs)
    run = RunContext(run_dir=run_dir, data=locate_data(None), split_path=run_dir / "split.npz",
                     seed=0, precision=choose_precision().policy)  # fmt: skip
    inputs = rejection.prepare_gate_inputs(run)
    result = rejection.train_rejector(str(run_dir / "model.keras"), run, inputs)
    return {"threshold": result.threshold, "validation digits refused": result.digits_rejected,
            "held-out non-digits refused": result.nondigits_rejected, "auc": result.auc,
            "gate seconds": result.train_seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-home", type=Path, required=True)
    parser.add_argument("--coarse", type=float, default=0.125)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--populations", default=POPULATIONS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digitrec-gate-"))
    home = work / "home"
    shutil.copytree(args.base_home, home, ignore=shutil.ignore_patterns("prefect", "mlflow"))
    os.environ["DIGITREC_HOME"] = str(home)
    from bench.loop_learning import rest_scores, write_images
    from bench.populations import population
    from digitrec.hardware import this_cpu
    from digitrec.storage import runs_dir

    manifest = json.loads((home / "models" / "champion.json").read_text())
    model = runs_dir() / manifest["run_id"] / "model.keras"  # its run folder holds the split
    report = {"cpu": this_cpu().describe(), "coarse": args.coarse, "epochs": args.epochs,
              **retrain_gate(model.parent, args.coarse, args.epochs)}  # fmt: skip
    for name in args.populations.split(","):
        files = write_images(population(name)[400:1400], work / name)
        right, refused = rest_scores(model, files)
        report[name] = {"read right": right, "refused": refused}
    bench = [sys.executable, str(ROOT / "bench" / "bench_rejection.py"), "--model", str(model)]
    done = subprocess.run(bench, capture_output=True, text=True, check=True, env=os.environ)
    report["bench_rejection"] = json.loads(done.stdout)
    print(json.dumps(report, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
