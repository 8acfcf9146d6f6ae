"""End-to-end time of `prefect deployment run predict/predict --watch` for one image, measured
from the shell, against a real `prefect server start` and `deployments/serve.py` on loopback,
and where it goes: the CLI's own start, the wait for the runner to pick the run up, the flow
run itself (its process start, imports, tasks), and the watch's return.

    .venv/bin/python bench/bench_deploy_run.py [--model champion.keras] [--runs 5] [--serve ...]

Each --serve setting (`fork:1` = runs forked from serve.py's warm fork server, polling every
second; `spawn:1` = Prefect's fresh interpreter per run) restarts serve.py, so the settings
are measured side by side against one server, alternating in rounds (--rounds) so that a
change in the machine's load falls on every setting alike.

    .venv/bin/python bench/bench_deploy_run.py --serve spawn:1 fork:1 fork:0.25 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} within {seconds:.0f} s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def when(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else float("nan")


def one_run(env: dict[str, str], api: str) -> dict[str, float]:
    """Times (s) of one `deployment run --watch` from the shell, and its parts from the API."""
    command = [str(BIN / "prefect"), "deployment", "run", "predict/predict",
               "--param", 'inputs=["samples/seven.png"]', "--watch"]  # fmt: skip
    started = time.time()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    ended = time.time()
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout).group(1)
    run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
    created, start, end = when(run["created"]), when(run["start_time"]), when(run["end_time"])
    return {
        "shell": ended - started,
        "cli_until_created": created - started,
        "created_until_running": start - created,
        "running": end - start,
        "after_end": ended - end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras model to serve (default: this home's champion)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per setting and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the settings")
    parser.add_argument(
        "--serve", nargs="+", default=["spawn:1", "fork:1"], help="START:POLL settings of serve.py"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from digitrec.registry import ModelRecord, register, resolve_model

    model = Path(args.model) if args.model else resolve_model("champion")
    times: dict[str, list[dict[str, float]]] = {setting: [] for setting in args.serve}
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        home, prefect_home = Path(tmp) / "home", Path(tmp) / "prefect"
        os.environ["DIGITREC_HOME"] = str(home)
        register(ModelRecord(run_id="bench", model_path=str(model)), promote=True)
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {**os.environ, "DIGITREC_HOME": str(home), "PREFECT_HOME": str(prefect_home),
               "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # fmt: skip
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait(lambda: answers(f"{api}/health"), 120, "the Prefect server answering")
            for _ in range(args.rounds):
                for setting in args.serve:
                    times[setting] += timed_runs(setting, env, api, Path(tmp), args.runs)
        finally:
            server.terminate()
            server.wait(30)
    for setting, runs in times.items():
        start, poll = setting.split(":")
        print(f"serve.py: runs start by {start}, poll {poll} s; median of {len(runs)} runs:")
        for key in runs[0]:
            values = [t[key] for t in runs]
            print(f"  {key:24s} {statistics.median(values):6.2f} s"
                  f"  (min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip


def timed_runs(setting: str, env: dict, api: str, tmp: Path, runs: int) -> list[dict]:
    """A fresh serve.py with `setting` (START:POLL), one warm-up run, then `runs` timed ones."""
    start, poll = setting.split(":")
    if start not in ("fork", "spawn"):
        raise ValueError(f"--serve {setting!r}: START is fork or spawn")
    log = tmp / f"serve-{setting.replace(':', '-')}.log"
    command = [sys.executable, "deployments/serve.py", "--poll", poll]
    served = subprocess.Popen(
        command + (["--spawn"] if start == "spawn" else []),
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait(lambda: "being served" in log.read_text(), 180, "serve.py ready")
        one_run(env, api)  # warm-up: the first run also fills caches
        return [one_run(env, api) for _ in range(runs)]
    finally:
        served.terminate()
        served.wait(30)


if __name__ == "__main__":
    main()
