"""The local Prefect server under this project's own load, on PostgreSQL and on SQLite side by
side: `deployments/serve.py` serving every deployment, N `predict/predict` runs created at once,
review runs paused for their form and resumed through the API (as the UI's Resume form does), a
`monitor/daily` run, and a poller hitting what the UI polls (runs, task runs, logs, artifacts)
every 250 ms. Counts final states, the poller's 5xx answers, and the server log's errors.

    .venv/bin/python bench/load_server.py [--db postgres,sqlite] [--predict 50] [--review 2]
        [--model var/runs/<id>/model.keras]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digitrec.hardware import this_cpu  # noqa: E402
from tests.prefect_servers import (  # noqa: E402
    FINAL,
    Served,
    Server,
    register_champion,
    running_server,
    wait_for,
)

SAMPLES = ("seven", "three", "zero", "2026")
POLL_S = 0.25
# What a person's browser asks the server again and again on the runs and run pages.
UI_POLLS = (
    ("POST", "/flow_runs/filter", {"limit": 50, "sort": "START_TIME_DESC"}),
    ("POST", "/task_runs/filter", {"limit": 50}),
    ("POST", "/logs/filter", {"limit": 100, "sort": "TIMESTAMP_DESC"}),
    ("POST", "/artifacts/filter", {"limit": 50}),
    ("POST", "/flow_runs/count", {}),
)
SERVER_ERRORS = re.compile(r"database is locked|Traceback|\bERROR\b|OperationalError")


@dataclass
class LoadResult:
    db: str
    states: Counter = field(default_factory=Counter)
    paused_resumed: int = 0
    polls: int = 0
    poll_5xx: int = 0
    poll_errors: int = 0
    locked: int = 0
    error_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Poller(threading.Thread):
    """Asks the UI's endpoints in turn every POLL_S seconds until stopped."""

    def __init__(self, api_url: str, result: LoadResult):
        super().__init__(daemon=True)
        self.api_url, self.result, self.done = api_url, result, threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=30) as client:
            turn = 0
            while not self.done.wait(POLL_S):
                method, path, body = UI_POLLS[turn % len(UI_POLLS)]
                turn += 1
                self.result.polls += 1
                try:
                    status = client.request(method, path, json=body).status_code
                except httpx.HTTPError:
                    self.result.poll_errors += 1
                    continue
                self.result.poll_5xx += status >= 500


async def create_runs(server: Server, name: str, parameters: list[dict]) -> list:
    """Flow runs of deployment `name`, all created at once."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(server.api_url) as client:
        deployment = await client.read_deployment_by_name(name)
        runs = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(deployment.id, parameters=p)
                for p in parameters
            )
        )
    return [r.id for r in runs]


def states_of(server: Server, ids: list) -> dict:
    """{flow run id: state type} for these runs."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flt = FlowRunFilter(id=FlowRunFilterId(any_=ids))
    runs = server.api(lambda c: c.read_flow_runs(flow_run_filter=flt, limit=len(ids)))
    return {r.id: r.state.type.value for r in runs}


def form_fields(server: Server, run_id) -> list[str]:
    """The field names of a paused run's Resume form."""
    run = server.api(lambda c: c.read_flow_run(run_id))
    key = run.state.state_details.run_input_keyset["schema"]
    return list(json.loads(server.api(lambda c: c.read_flow_run_input(run_id, key)))["properties"])


def resume_reviews(server: Server, ids: list, timeout: float) -> int:
    """Resume each review run once it pauses, skipping every image; how many were resumed."""
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pending, resumed, deadline = set(ids), 0, time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for run_id, state in states_of(server, list(pending)).items():
            if state == "PAUSED":
                with temporary_settings({PREFECT_API_URL: server.api_url}):
                    fields = form_fields(server, run_id)
                    resume_flow_run(run_id, run_input=dict.fromkeys(fields, "skip"))
                pending.discard(run_id)
                resumed += 1
            elif state in FINAL:
                pending.discard(run_id)  # ended without pausing
        time.sleep(0.5)
    return resumed


def run_load(
    server: Server, predict: int, review: int, monitor: bool, timeout: float = 900
) -> LoadResult:
    """The load against `server` (serve.py already serving it); the counts."""
    result = LoadResult(db=server.db)
    poller = Poller(server.api_url, result)
    poller.start()
    started = time.monotonic()
    params = [{"inputs": [f"samples/{SAMPLES[i % len(SAMPLES)]}.png"]} for i in range(predict)]
    ids = asyncio.run(create_runs(server, "predict/predict", params))
    # Reviews need logged predictions: they start once a few predict runs have logged theirs.
    wait_for(lambda: list(states_of(server, ids).values()).count("COMPLETED") >= 2, timeout,
             "the first predict runs completing", 1)  # fmt: skip
    others = [{"n": 2, "timeout_s": int(timeout), "reviewer": f"load-{i}"} for i in range(review)]
    review_ids = asyncio.run(create_runs(server, "review/review", others)) if review else []
    monitor_ids = asyncio.run(create_runs(server, "monitor/daily", [{}])) if monitor else []
    result.paused_resumed = resume_reviews(server, review_ids, timeout)
    everything = ids + review_ids + monitor_ids

    def finished():
        states = states_of(server, everything)
        return states if all(s in FINAL for s in states.values()) else None

    result.states = Counter(
        wait_for(finished, timeout, "every run reaching a final state", 2).values()
    )
    result.seconds = time.monotonic() - started
    poller.done.set()
    poller.join()
    lines = server.log.read_text(errors="replace").splitlines()
    result.locked = sum("database is locked" in line for line in lines)
    result.error_lines = [line for line in lines if SERVER_ERRORS.search(line)]
    return result


def newest_model() -> Path:
    models = sorted((ROOT / "var" / "runs").glob("*/model.keras"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no var/runs/*/model.keras: run `make run` first, or give --model")
    return models[-1]


def one_database(db: str, model: Path, args: argparse.Namespace) -> LoadResult:
    work = Path(tempfile.mkdtemp(prefix=f"digitrec-load-{db}-"))
    with running_server(work / "server", db=db) as server:
        register_champion(work / "home", model)
        served = Served(server, work / "home", work / "serve-prefect").start()
        try:
            return run_load(server, args.predict, args.review, not args.no_monitor)
        finally:
            served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgres,sqlite")
    parser.add_argument("--predict", type=int, default=50)
    parser.add_argument("--review", type=int, default=2)
    parser.add_argument("--no-monitor", action="store_true")
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or newest_model()
    print(f"CPU: {this_cpu().describe()}; model {model}", flush=True)
    print("| database | runs | completed | reviews paused+resumed | poller requests | poller 5xx "
          "| 'database is locked' in the server log | other server errors | wall |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for db in args.db.split(","):
        r = one_database(db, model, args)
        others = len(r.error_lines) - r.locked
        print(f"| {db} | {sum(r.states.values())} | {r.states['COMPLETED']} | {r.paused_resumed} "
              f"| {r.polls} | {r.poll_5xx} (+{r.poll_errors} no answer) | {r.locked} | {others} "
              f"| {r.seconds:.0f} s |", flush=True)  # fmt: skip
        for line in r.error_lines[:5]:
            print(f"    {db} server log: {line[:200]}")


if __name__ == "__main__":
    main()
