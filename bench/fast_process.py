"""The whole fast `digitrec train` process as a newcomer runs it: a first run in a fresh home
(only the prepared embedded data there), then a rerun in the same home (`--force`: the gate's
renders and the parsed CSVs cached, the databases made), each timed from outside. Prints the
CPU and its flags, the precision `auto` chose, and per run: wall, digit-model training
(the stages' fit seconds), overhead (wall - training, as a share of wall), hidden test.

    .venv/bin/python bench/fast_process.py [--runs 3] [--precision auto] [--profile fast]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digitrec.hardware import choose_precision, this_cpu  # noqa: E402


def one_run(home: Path, profile: str, precision: str, force: bool) -> dict:
    """Time one `digitrec train` process in `home`; its numbers from the run folder."""
    env = {**os.environ, "DIGITREC_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("PREFECT_API_URL", None)
    command = [str(ROOT / ".venv/bin/digitrec"), "train", "--profile", profile]
    command += ["--precision", precision] + (["--force"] if force else [])
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"digitrec train failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    run_dir = Path(next(line.split(None, 2)[-1] for line in done.stdout.splitlines()
                        if line.startswith("run folder")))  # fmt: skip
    stages = [json.loads(p.read_text()) for p in (run_dir / "stages").glob("*.json")]
    training = sum(s["train_seconds"] for s in stages)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "wall": wall,
        "training": training,
        "overhead": (wall - training) / wall,
        "hidden": metrics["hidden_test_accuracy"],
        "precision": metrics["precision"]["precision"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--data", default=str(ROOT / "var/data"), help="prepared data folder")
    args = parser.parse_args()
    print(f"CPU: {this_cpu().describe()}")
    print(f"precision {args.precision}: {choose_precision(args.precision).precision}", flush=True)
    rows: dict[str, list[dict]] = {"first run": [], "rerun": []}
    for index in range(args.runs):
        home = Path(tempfile.mkdtemp(prefix="digitrec-bench-"))
        shutil.copytree(args.data, home / "data")
        for kind, force in (("first run", False), ("rerun", True)):
            result = one_run(home, args.profile, args.precision, force)
            rows[kind].append(result)
            print(f"{kind} {index + 1}: " + json.dumps({k: round(v, 4) if isinstance(v, float)
                                                        else v for k, v in result.items()}),
                  flush=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
    print("| run | wall (median, min-max) | training | overhead | hidden test |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, results in rows.items():
        walls = [r["wall"] for r in results]
        print(
            f"| {kind} | {statistics.median(walls):.1f} s ({min(walls):.1f}-{max(walls):.1f}) "
            f"| {statistics.median(r['training'] for r in results):.1f} s "
            f"| {statistics.median(r['overhead'] for r in results):.1%} "
            f"| {', '.join(format(r['hidden'], '.3%') for r in results)} |"
        )


if __name__ == "__main__":
    main()
