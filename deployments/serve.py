"""Serve every deployment in prefect.yaml from one long-running process: `train/retraining` on a
cron schedule and on events (monitor drift, enough new feedback), `predict/predict` and
`review/review` on demand, and `monitor/daily` every morning.

Names, descriptions, tags, parameters, schedules and event triggers come from prefect.yaml (read
through deployments/settings.py), the same declarations `prefect deploy --all` registers.

    python deployments/serve.py [--cron "0 3 * * 0"] [--timezone UTC] [--limit 4] [--poll 0.5]
                                [--spawn]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from deployments.settings import (  # noqa: E402 (needs the path above)
    DeploymentSpec,
    ScheduleSpec,
    entrypoint_module,
    load_deployments,
    load_flow,
)

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.events import DeploymentTriggerTypes

RETRAINING = "retraining"  # the deployment --cron / --timezone reschedule
DEFAULT_POLL_SECONDS = 0.25  # Prefect: 10 s; 1 -> 0.25 s: 5.4 -> 4.8 s a predict run (RESULTS)


def with_schedule(spec: DeploymentSpec, cron: str | None, timezone: str | None) -> DeploymentSpec:
    """`spec` with its one schedule's cron and/or timezone replaced; unchanged if both are None."""
    if cron is None and timezone is None:
        return spec
    if len(spec.schedules) > 1:
        raise ValueError(f"{spec.name!r} has {len(spec.schedules)} schedules; which to override?")
    current = spec.schedules[0] if spec.schedules else None
    if current is None and cron is None:
        raise ValueError(f"{spec.name!r} has no schedule in prefect.yaml; give a cron too")
    base = current or ScheduleSpec(cron=cron)
    schedule = dataclasses.replace(
        base,
        cron=base.cron if cron is None else cron,
        timezone=base.timezone if timezone is None else timezone,
    )
    return dataclasses.replace(spec, schedules=(schedule,))


def to_triggers(spec: DeploymentSpec) -> list[DeploymentTriggerTypes]:
    """The deployment's `triggers:` as `prefect deploy` builds them (prefect/cli/deploy/
    _triggers.py): each validated as DeploymentTriggerTypes, unnamed ones named
    `<deployment>__automation_<i>`."""
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter, ValidationError

    adapter = TypeAdapter(DeploymentTriggerTypes)
    triggers = []
    for i, raw in enumerate(spec.triggers, start=1):
        data = copy.deepcopy(dict(raw))
        data.setdefault("name", f"{spec.name}__automation_{i}")
        try:
            triggers.append(adapter.validate_python(data))
        except ValidationError as error:
            raise ValueError(f"deployment {spec.name!r}, trigger {i}: {error}") from error
    return triggers


def deployment_options(spec: DeploymentSpec) -> dict[str, Any]:
    """The keyword arguments of `Flow.to_deployment` (and `Runner.add_flow`) for one entry."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule

    return {
        "name": spec.name,
        "description": spec.description,
        "tags": list(spec.tags),
        "parameters": dict(spec.parameters),
        "schedules": [
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=s.cron, timezone=s.timezone), active=s.active
            )
            for s in spec.schedules
        ],
        "triggers": to_triggers(spec),
    }


def to_runner_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    """One runner deployment (not yet registered with a server) from its prefect.yaml entry."""
    return load_flow(spec.entrypoint).to_deployment(**deployment_options(spec))


def build_specs(cron: str | None = None, timezone: str | None = None) -> list[DeploymentSpec]:
    """Every deployment in prefect.yaml, in file order; `cron` and `timezone`, where given,
    replace those of the retraining schedule."""
    specs = load_deployments()
    specs[RETRAINING] = with_schedule(specs[RETRAINING], cron, timezone)
    return list(specs.values())


def build_deployments(
    cron: str | None = None, timezone: str | None = None
) -> tuple[RunnerDeployment, ...]:
    """Every deployment in prefect.yaml as a runner deployment (see build_specs)."""
    return tuple(to_runner_deployment(spec) for spec in build_specs(cron, timezone))


def serve(
    specs: list[DeploymentSpec], limit: int | None, poll_seconds: float, fork: bool = True
) -> None:
    """Register `specs` and run their flow runs from this process until it is stopped. With
    `fork`, runs start from a warm fork server that has imported the flows' modules."""
    from prefect.runner import Runner

    from deployments.forkserver import send_flows_by_name, start_runs_by_fork

    send_flows_by_name()  # each run's process uses its module's flow (deployments/forkserver.py)
    if fork:
        start_runs_by_fork(entrypoint_module(spec.entrypoint)[0] for spec in specs)
    # pause_on_shutdown=False keeps the schedules active when this process restarts.
    runner = Runner(pause_on_shutdown=False, limit=limit, query_seconds=poll_seconds)
    for spec in specs:  # add_flow, not add_deployment: the runner then holds the flow object
        runner.add_flow(load_flow(spec.entrypoint), **deployment_options(spec))
    names = [f"{load_flow(s.entrypoint).name}/{s.name}" for s in specs]
    print(
        "Your deployments are being served and polled for scheduled runs!\n"
        + "".join(f"  {name}\n" for name in names)
        + f"Polling every {poll_seconds:g} s; runs start "
        + ("from a warm fork" if fork else "in a fresh interpreter")
        + f". Start one with: prefect deployment run '{names[0]}'. Ctrl-C stops.",
        flush=True,
    )
    try:
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        print("stopped", flush=True)


def main() -> None:
    declared = load_deployments()[RETRAINING].schedules[:1]  # for the help text only
    cron, timezone = (declared[0].cron, declared[0].timezone) if declared else (None, None)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cron",
        # An empty variable counts as unset: prefect.yaml's schedule applies.
        default=os.environ.get("DIGITREC_RETRAIN_CRON") or None,
        help=f"retraining schedule (env DIGITREC_RETRAIN_CRON; prefect.yaml: {cron!r})",
    )
    parser.add_argument(
        "--timezone",
        default=os.environ.get("DIGITREC_RETRAIN_TZ") or None,
        help=f"schedule time zone (env DIGITREC_RETRAIN_TZ; prefect.yaml: {timezone})",
    )
    parser.add_argument("--limit", type=int, default=None, help="max concurrent flow runs")
    parser.add_argument(
        "--poll",
        type=float,
        default=float(os.environ.get("DIGITREC_SERVE_POLL_S") or DEFAULT_POLL_SECONDS),
        help="seconds between polls for new runs, fractions allowed (env DIGITREC_SERVE_POLL_S)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start each flow run in a fresh interpreter (Prefect's default) instead of a fork "
        "of a warm process that has imported the flows",
    )
    args = parser.parse_args()
    serve(build_specs(args.cron, args.timezone), args.limit, args.poll, fork=not args.spawn)


if __name__ == "__main__":
    main()
