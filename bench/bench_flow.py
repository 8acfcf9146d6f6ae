"""Pipeline overhead and memory: run the `train` flow (fast profile by default) in this process
and report its wall time against the time spent training, each task's run time (read back from
the Prefect API), data-validation time and peak RSS. Then a `predict` flow run on the 28,000 test
rows with its own peak RSS (in a fresh process).

    .venv/bin/python bench/bench_flow.py [--profile fast] [--skip-predict] [--force]

--force trains again in a home that already holds a run on the same data (a rerun, as a
scheduled retraining is: the gate's renders and the parsed CSVs come from the cache).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec, so a child started from this
# (2 GB) process would report the parent's peak.
PREDICT_SNIPPET = """
import json, re, sys, time
from flows.predict import predict
started = time.perf_counter()
result = predict(inputs=[sys.argv[1]])
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": round(time.perf_counter() - started, 2),
                  "rows": len(result.predictions), "peak_rss_mb": round(peak_kb / 1024)}))
"""


async def task_times(flow_run_id) -> dict[str, float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {
        r.name: round(r.total_run_time.total_seconds(), 2)
        for r in sorted(runs, key=lambda r: r.start_time or r.expected_start_time)
    }


async def flow_run_time(flow_run_id) -> float:
    """Seconds from the flow run's start to its end, as the Prefect server recorded them."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
    return round((run.end_time - run.start_time).total_seconds(), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument(
        "--no-preload", action="store_true", help="skip the CLI's background imports (before/after)"
    )
    parser.add_argument(
        "--force", action="store_true", help="train even if the run would repeat an earlier one"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    from app.warmup import import_in_background, prefect_api, start_prefect_server

    server = None
    if not args.no_preload:  # as `digitrec train` does
        server = start_prefect_server()
        import_in_background()
    from flows.training import train

    with prefect_api(server):  # the same server for the flow and the reads below
        state = train(profile=args.profile, force=args.force, return_state=True)
        wall = time.perf_counter() - started
        run_id = state.state_details.flow_run_id
        flow_run_seconds = asyncio.run(flow_run_time(run_id))
        task_seconds = asyncio.run(task_times(run_id))
    result = state.result()
    run_dir = Path(result.run_dir)
    stages = [json.loads(p.read_text()) for p in sorted((run_dir / "stages").glob("*.json"))]
    # Members train in parallel: the ensemble stage's seconds are their wall time, so the
    # members' own seconds are not added again.
    training = sum(s["train_seconds"] for s in stages if s["worker"] is None)
    report = {
        "profile": args.profile,
        "run_dir": str(run_dir),
        "flow_wall_seconds": round(wall, 1),
        "training_seconds": round(training, 1),
        "overhead_seconds": round(wall - training, 1),
        "overhead_share": round((wall - training) / wall, 3),
        "flow_run_seconds": flow_run_seconds,
        "flow_run_overhead_share": round((flow_run_seconds - training) / flow_run_seconds, 3),
        "validation_seconds": json.loads((run_dir / "validation.json").read_text())["seconds"],
        "val_accuracy": result.val_accuracy,
        "hidden_test_accuracy": result.hidden_test_accuracy,
        "stages": {
            s["stage"]: {
                "seconds": s["train_seconds"],
                "val_accuracy": s["val_accuracy"],
                "images_per_second": s["images_per_second"],
            }
            for s in stages
        },
        "task_seconds": task_seconds,
        "train_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "train_peak_rss_note": "ru_maxrss of this process (it ran the flow in-process)",
    }
    if not args.skip_predict:
        from digitrec.data.embedded import ensure_embedded_data

        out = subprocess.run(
            [sys.executable, "-c", PREDICT_SNIPPET, ensure_embedded_data().test_csv],
            capture_output=True,
            text=True,
            check=True,
        )
        report["predict_28000_rows"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
