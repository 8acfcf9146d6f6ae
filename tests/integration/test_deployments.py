"""The deployments served by `deployments/serve.py` against a real `prefect server start`,
driven through the `prefect` CLI as a user would, with states and artifacts read back through
the Prefect client."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.prefect_servers import (
    FINAL,
    PREFECT,
    REPO,
    artifacts_of,
    flow_run,
    running_server,
    table_rows,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
E2E_AT_LEAST = 4  # of 5 touching numbers read exactly


def test_predict_deployment_from_the_cli(served, server):
    started = time.monotonic()
    result, run_id = served.run_deployment("predict/predict", 'inputs=["samples/seven.png"]')
    seconds = time.monotonic() - started
    print(f"prefect deployment run predict/predict --watch (one image): {seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Completed" in result.stdout
    assert flow_run(server, run_id).state.type.value == "COMPLETED"
    (table,) = [a for a in artifacts_of(server, run_id) if a.key == "predictions"]
    assert table.type == "table"
    (row,) = table_rows(table)
    assert row["input"] == "samples/seven.png"
    assert row["read"] == "7 (seven)" and row["error"] is None
    assert 0.5 < row["confidence"] <= 1
    # The CSV the flow wrote lies in the serve process's DIGITREC_HOME.
    (csv,) = served.digitrec_home.glob("predictions/*/predictions.csv")
    assert "samples/seven.png" in csv.read_text()


def test_retraining_is_scheduled_weekly(served, server):
    retraining = server.api(lambda c: c.read_deployment_by_name("train/retraining"))
    (schedule,) = retraining.schedules
    assert schedule.active is True
    assert schedule.schedule.cron == "0 3 * * 0"
    assert schedule.schedule.timezone == "UTC"
    assert retraining.parameters == {"profile": "fast"}
    assert retraining.paused is False
    # The form in the UI comes from the typed parameters.
    properties = retraining.parameter_openapi_schema["properties"]
    assert {"data_dir", "profile", "epochs", "promote"} <= set(properties)
    predict = server.api(lambda c: c.read_deployment_by_name("predict/predict"))
    assert predict.schedules == []
    assert "inputs" in predict.parameter_openapi_schema["required"]


def test_the_server_schedules_the_next_weekly_retraining_runs(served, server):
    """The server's scheduler turns the cron into SCHEDULED runs (with SQLAlchemy 2.1 it fails
    to insert them, and retraining would never run on its schedule)."""
    from datetime import UTC, datetime

    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    retraining = server.api(lambda c: c.read_deployment_by_name("train/retraining"))
    by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[retraining.id]))
    scheduled = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))
    )

    def scheduled_runs():
        return server.api(
            lambda c: c.read_flow_runs(deployment_filter=by_deployment, flow_run_filter=scheduled)
        )

    runs = wait_for(scheduled_runs, 150, "the scheduler creating the retraining's runs", 2)
    starts = sorted(r.expected_start_time.astimezone(UTC) for r in runs)
    assert starts[0] > datetime.now(UTC)
    assert all((t.isoweekday(), t.hour, t.minute) == (7, 3, 0) for t in starts), starts
    assert all(r.parameters == {"profile": "fast"} for r in runs)


def test_serve_py_registers_the_triggers_and_the_daily_monitor(served, server):
    retraining = server.api(lambda c: c.read_deployment_by_name("train/retraining"))
    owned = server.api(
        lambda c: c.read_resource_related_automations(f"prefect.deployment.{retraining.id}")
    )
    assert sorted(a.name for a in owned) == ["retrain-on-feedback"]
    assert {event for a in owned for event in a.trigger.expect} == {"digitrec.feedback.added"}
    review = server.api(lambda c: c.read_deployment_by_name("review/review"))
    asks = server.api(
        lambda c: c.read_resource_related_automations(f"prefect.deployment.{review.id}")
    )
    assert [a.name for a in asks] == ["review-on-drift"]
    assert {event for a in asks for event in a.trigger.expect} == {"digitrec.monitor.drift"}
    daily = server.api(lambda c: c.read_deployment_by_name("monitor/daily"))
    (schedule,) = daily.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 6 * * *", "UTC")


def test_inline_image_through_the_served_deployment(served, server):
    encoded = base64.b64encode((REPO / "samples" / "seven.png").read_bytes()).decode()
    result, run_id = served.run_deployment(
        "predict/predict", f'inputs=["data:image/png;base64,{encoded}"]'
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (table,) = [a for a in artifacts_of(server, run_id) if a.key == "predictions"]
    (row,) = table_rows(table)
    assert row["input"] == "inline image 1"
    assert row["read"] == "7 (seven)" and row["error"] is None


def test_touching_numbers_through_the_served_deployment(served, server, mnist_arrays):
    """predict/predict on a real server reads written numbers whose digits touch (MNIST test
    digits, photographed) with the champion's number reader."""
    import cv2

    from tests.inference.test_numbers import touching_pairs

    made = touching_pairs(mnist_arrays, 5, seed=7, render="photo")
    inbox = served.digitrec_home / "inbox"  # an allowed input root of the flow
    inbox.mkdir(parents=True, exist_ok=True)
    paths = [str(inbox / f"touching-{i}.png") for i in range(len(made))]
    for path, number in zip(paths, made, strict=True):
        cv2.imwrite(path, number.image)
    result, run_id = served.run_deployment("predict/predict", f"inputs={json.dumps(paths)}")
    assert result.returncode == 0, result.stdout + result.stderr
    (table,) = [a for a in artifacts_of(server, run_id) if a.key == "predictions"]
    read = [row["read"] for row in table_rows(table)]
    assert sum(got == n.digits for got, n in zip(read, made, strict=True)) >= E2E_AT_LEAST, read


def test_a_path_outside_the_input_roots_is_refused_in_the_run(served, server, tmp_path):
    outside = tmp_path / "seven.png"
    outside.write_bytes((REPO / "samples" / "seven.png").read_bytes())
    result, run_id = served.run_deployment("predict/predict", f'inputs=["{outside}"]')
    assert result.returncode != 0
    state = flow_run(server, run_id).state
    assert state.type.value == "FAILED", state
    assert f"{outside}: outside the allowed input roots" in (state.message or "")
    assert "DIGITREC_INPUT_ROOTS" in (state.message or "")


def test_all_inputs_failing_fails_the_run_and_serve_survives(served, server):
    result, run_id = served.run_deployment("predict/predict", 'inputs=["samples/missing.png"]')
    assert result.returncode != 0
    state = flow_run(server, run_id).state
    assert state.type.value == "FAILED", state
    assert "every input failed" in (state.message or "")
    assert served.process.poll() is None  # the serve process is still up
    result, run_id = served.run_deployment("predict/predict", 'inputs=["samples/2026.png"]')
    assert result.returncode == 0, result.stdout + result.stderr
    (table,) = [a for a in artifacts_of(server, run_id) if a.key == "predictions"]
    assert table_rows(table)[0]["read"] == "2026"


def test_twenty_predict_runs_at_once_all_complete(served, server):
    """Twenty runs created concurrently, which serve.py picks up together. On SQLite such
    creations got 503s ("database is locked") beyond Prefect's client retries; the servers here
    run on PostgreSQL, as `make server` does."""

    async def submit(client):
        import asyncio

        deployment = await client.read_deployment_by_name("predict/predict")
        runs = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(
                    deployment.id, parameters={"inputs": [f"samples/{name}.png"]}
                )
                for name in ["seven", "three", "zero", "2026"] * 5
            )
        )
        return [r.id for r in runs]

    ids = server.api(submit)
    assert len(set(ids)) == 20

    def states():
        async def read(client):
            from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

            flt = FlowRunFilter(id=FlowRunFilterId(any_=ids))
            return await client.read_flow_runs(flow_run_filter=flt)

        runs = server.api(read)
        return runs if all(r.state.type.value in FINAL for r in runs) else None

    runs = wait_for(states, 900, "20 predict runs reaching a final state", 3)
    assert [r.state.type.value for r in runs] == ["COMPLETED"] * 20
    assert served.process.poll() is None


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_cancelled_training_keeps_champion_and_earlier_runs(served, server, small_kaggle_dir):
    from prefect.states import Cancelling

    home = served.digitrec_home
    # An earlier, finished run folder and the champion's manifest, byte for byte.
    earlier = home / "runs" / "earlier"
    earlier.mkdir(parents=True, exist_ok=True)
    (earlier / "metrics.json").write_text('{"accuracy": 0.99}\n')
    registry_before = (home / "models" / "champion.json").read_bytes()
    runs_before = tree_digest(home / "runs")

    async def start(client):
        deployment = await client.read_deployment_by_name("train/retraining")
        parameters = {"data_dir": str(small_kaggle_dir), "epochs": 200, "promote": True}
        run = await client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        return run.id

    run_id = server.api(start)

    def training():  # a train-<stage> task (train-baseline, ...) is running: mid-training
        async def read(client):
            from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

            flt = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            return await client.read_task_runs(flow_run_filter=flt)

        tasks = server.api(read)
        return any(t.name.startswith("train-") and t.state.type.value == "RUNNING" for t in tasks)

    wait_for(training, 300, "the train run reaching a training task", 1)
    server.api(lambda c: c.set_flow_run_state(run_id, Cancelling(), force=True))
    state = wait_for(
        lambda: (s := flow_run(server, run_id).state).type.value in FINAL and s,
        180,
        "the cancelled train run stopping",
        1,
    )
    assert state.type.value == "CANCELLED", state
    assert (home / "models" / "champion.json").read_bytes() == registry_before
    after = tree_digest(home / "runs")
    assert {k: after[k] for k in runs_before} == runs_before  # earlier runs untouched
    assert not any((home / "runs").glob("*/model.keras"))  # the cancelled run saved no model
    assert served.process.poll() is None


def test_basic_auth_refuses_anonymous_calls_and_the_cli_works_with_it(tmp_path):
    with running_server(tmp_path / "server", auth_string="admin:s3cret") as server:
        anonymous = httpx.post(f"{server.api_url}/flows/filter", json={}, timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.post(
            f"{server.api_url}/flows/filter", json={}, auth=("admin", "wrong"), timeout=10
        )
        assert wrong.status_code == 401
        authed = httpx.post(
            f"{server.api_url}/flows/filter", json={}, auth=("admin", "s3cret"), timeout=10
        )
        assert authed.status_code == 200

        def cli(env):
            return subprocess.run(
                [PREFECT, "work-pool", "create", "digitrec", "--type", "process"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        env = server.client_env(tmp_path / "client")  # with PREFECT_API_AUTH_STRING
        without = {k: v for k, v in env.items() if k != "PREFECT_API_AUTH_STRING"}
        refused = cli(without)
        assert refused.returncode != 0
        created = cli(env)
        assert created.returncode == 0, created.stdout + created.stderr
        pool = server.api(lambda c: c.read_work_pool("digitrec"))
        assert pool.type == "process"
