"""The loop on a real `prefect server start`: prefect.yaml's triggers become automations;
`digitrec.feedback.added` (retrain due) starts a `train/retraining` run with profile `adapt`, and
the monitor flow's `digitrec.monitor.drift` starts a `review/review` run over the drifted window
(drift asks people). Nothing serves those deployments here, so the runs wait in Scheduled; a
small probe flow served with the same triggers shows a triggered run executing with their
parameters."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from deployments import serve
from deployments.settings import load_deployments
from tests.prefect_servers import FINAL, REPO, artifacts_of, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DRIFT = "digitrec.monitor.drift"
FEEDBACK = "digitrec.feedback.added"
PROBE = "tests.integration.trigger_probe"  # a flow that returns its parameters at once
REVIEW_PARAMETERS = {"n": 40, "reviewer": "drift", "since": "{{ event.payload.window_start }}"}


@pytest.fixture(scope="module")
def deployed(server):
    """serve.py's deployments (prefect.yaml's triggers included) registered on the server, as
    serve() registers them before it polls; returns {deployment name: id}."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with contextlib.chdir(REPO), temporary_settings({PREFECT_API_URL: server.api_url}):
        return {d.name: d.apply() for d in serve.build_deployments()}


def python(server, tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    """Python in a fresh process that talks to `server`, as a flow run or a CLI would."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=server.client_env(tmp_path / "prefect-client", **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def emit(server, tmp_path: Path, event: str, resource: dict, payload: dict) -> None:
    code = (
        "from prefect.events import emit_event\n"
        f"assert emit_event(event={event!r}, resource={resource!r}, payload={payload!r})\n"
    )
    python(server, tmp_path, code)


def feedback_resource(due: bool) -> dict:
    """The review flow's resource (the contract in prefect.yaml's retrain-on-feedback)."""
    return {
        "prefect.resource.id": "digitrec.feedback",
        "prefect.resource.name": "feedback store",
        "digitrec.retrain-due": "true" if due else "false",
    }


def runs_of(server, deployment_id, automation: str) -> list:
    """The deployment's runs an automation created (the server records which one); leaves
    out the runs its cron schedule creates."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    flt = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    runs = server.api(lambda c: c.read_flow_runs(deployment_filter=flt))
    return [
        run
        for run in runs
        if run.created_by is not None
        and run.created_by.type == "AUTOMATION"
        and run.created_by.display_value == automation
    ]


def events_named(server, name: str) -> list[dict]:
    body = {"filter": {"event": {"name": [name]}}, "limit": 50}
    response = httpx.post(f"{server.api_url}/events/filter", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["events"]


def test_prefect_yaml_triggers_are_automations_on_the_server(server, deployed):
    automations = server.api(lambda c: c.read_automations())
    by_name = {a.name: a for a in automations}
    assert {"review-on-drift", "retrain-on-feedback"} <= set(by_name)
    expected = {
        "review-on-drift": (DRIFT, "review", REVIEW_PARAMETERS),
        "retrain-on-feedback": (FEEDBACK, "retraining", {"profile": "adapt"}),
    }
    for name, (event, deployment, parameters) in expected.items():
        automation = by_name[name]
        assert automation.enabled and automation.trigger.expect == {event}
        (action,) = automation.actions
        assert action.type == "run-deployment" and action.deployment_id == deployed[deployment]
        assert action.parameters == parameters
    match = by_name["retrain-on-feedback"].trigger.match.model_dump()
    assert match == {"prefect.resource.id": "digitrec.feedback", "digitrec.retrain-due": "true"}


def test_feedback_starts_retraining_only_when_due(server, deployed, tmp_path):
    payload = {"new": 1, "total": 5, "since_champion": 5, "threshold": 100, "source": "review"}
    emit(server, tmp_path, FEEDBACK, feedback_resource(due=False), payload)
    due = payload | {"total": 100, "since_champion": 100}
    emit(server, tmp_path, FEEDBACK, feedback_resource(due=True), due)
    retraining = deployed["retraining"]
    (run,) = wait_for(
        lambda: runs_of(server, retraining, "retrain-on-feedback"), 60, "a triggered retraining", 1
    )
    assert run.parameters == {"profile": "adapt"}
    assert run.state.type.value == "SCHEDULED"  # nothing serves it here: it trains nothing
    # Both events arrived, but only the due one started a run (waited on above).
    wait_for(lambda: len(events_named(server, FEEDBACK)) == 2, 30, "both feedback events", 1)
    assert len(runs_of(server, retraining, "retrain-on-feedback")) == 1
    assert runs_of(server, deployed["review"], "review-on-drift") == []


def drifted_home(home: Path, mnist_arrays) -> None:
    """A DIGITREC_HOME whose log holds 300 predictions of thickened MNIST digits."""
    from tests.monitor_logs import log_images, thicken

    images, labels = mnist_arrays
    rows = np.random.default_rng(3).choice(70_000, 300, replace=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITREC_HOME", str(home))
        log_images(thicken(images[rows]), labels[rows])


def test_the_monitor_flow_raises_drift_and_a_review_starts(
    server, deployed, tmp_path, mnist_arrays, small_kaggle_dir
):
    home = tmp_path / "home"
    drifted_home(home, mnist_arrays)
    retrainings = len(runs_of(server, deployed["retraining"], "retrain-on-feedback"))
    code = (
        "from flows.monitor import monitor\n"
        f"report = monitor(data_dir={str(small_kaggle_dir)!r})\n"
        "print('STATUS', report.verdict.status)\n"
    )
    result = python(server, tmp_path, code, DIGITREC_HOME=str(home))
    assert "STATUS drift" in result.stdout
    (event,) = wait_for(lambda: events_named(server, DRIFT), 30, "the drift event", 1)
    assert event["resource"]["prefect.resource.id"] == "digitrec.monitor"
    assert event["payload"]["status"] == "drift" and event["payload"]["predictions"] == 300
    assert event["payload"]["stroke_width.ks_statistic"] > 0.15
    related = {r["prefect.resource.role"]: r for r in event["related"]}
    flow_run_id = related["flow-run"]["prefect.resource.id"].removeprefix("prefect.flow-run.")
    # The monitor run's artifacts and its MLflow run.
    keys = {a.key for a in artifacts_of(server, flow_run_id)}
    assert {"monitor-report", "monitor-inputs", "monitor-outputs"} <= keys
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITREC_HOME", str(home))
        from digitrec.loop.monitor import last_run
        from digitrec.registry import backend

        client = backend.client()
        (mlflow_run,) = client.search_runs(
            [backend.experiment_id(client)], "tags.`digitrec.kind` = 'monitor'"
        )
        assert last_run() is not None  # the next window starts after this run
    assert mlflow_run.data.tags["monitor.status"] == "drift"
    assert mlflow_run.data.metrics["stroke_width.ks_statistic"] > 0.15
    # The automation asked a person: a review run over the drifted window, and no retraining.
    (started,) = wait_for(
        lambda: runs_of(server, deployed["review"], "review-on-drift"),
        60,
        "a review run started by the drift event",
        1,
    )
    window = event["payload"]["window_start"]
    assert started.parameters == {"n": 40, "reviewer": "drift", "since": window}
    assert len(runs_of(server, deployed["retraining"], "retrain-on-feedback")) == retrainings


def test_a_served_deployment_runs_when_its_trigger_fires(server, deployed, tmp_path):
    """A probe flow served with the retraining triggers from prefect.yaml: the triggered run
    executes (not only gets scheduled) and receives the trigger's parameters."""
    spec = load_deployments()["retraining"]
    code = (
        "import sys; from prefect import serve\n"
        "from deployments import serve as ours\n"
        "from deployments.settings import load_deployments\n"
        f"from {PROBE} import probe\n"
        "spec = load_deployments()['retraining']\n"
        "serve(probe.to_deployment(name='retraining-probe', triggers=ours.to_triggers(spec)))\n"
    )
    log = (tmp_path / "probe-serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=server.client_env(tmp_path / "probe-prefect", PREFECT_RUNNER_POLL_FREQUENCY="1"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        probe = wait_for(
            lambda: _deployment(server, "probe/retraining-probe"), 120, "the probe deployment", 1
        )
        assert len(spec.triggers) == 1
        emit(server, tmp_path, FEEDBACK, feedback_resource(due=True), {"total": 100})
        (run,) = wait_for(
            lambda: runs_of(server, probe.id, "retrain-on-feedback"), 60, "a probe run", 1
        )
        done = wait_for(
            lambda: (r := _run(server, run.id)).state.type.value in FINAL and r,
            120,
            "the probe run finishing",
            1,
        )
        assert done.state.type.value == "COMPLETED", done.state
        assert done.parameters == {"profile": "adapt"}
    finally:
        stop(process)
        log.close()


def _deployment(server, name: str):
    from prefect.exceptions import ObjectNotFound

    try:
        return server.api(lambda c: c.read_deployment_by_name(name))
    except ObjectNotFound:
        return None


def _run(server, run_id):
    return server.api(lambda c: c.read_flow_run(run_id))
