"""prefect.yaml (what `prefect deploy --all` registers) and deployments/serve.py (what
`make serve` registers) declare the same deployments. No server, no network: prefect.yaml is
read with PyYAML directly, not through deployments/settings.py, and compared with the runner
deployments serve.py builds."""

from __future__ import annotations

import contextlib
import copy
import uuid
from pathlib import Path
from typing import Any

import prefect
import pytest
import yaml

from deployments import serve
from deployments.settings import entrypoint_module, load_flow

REPO = Path(__file__).resolve().parents[2]
# Keys serve.py turns into runner-deployment fields; work_pool only matters to `prefect deploy`
# (serve.py runs flows in its own process). A key outside these would be registered by one path
# and silently dropped by the other, so it fails the test until serve.py handles it.
SERVED_KEYS = {"name", "entrypoint", "description", "tags", "parameters", "schedules", "triggers"}
DEPLOY_ONLY_KEYS = {"work_pool"}
SCHEDULE_KEYS = {"cron", "timezone", "active"}


def yaml_deployments() -> list[dict[str, Any]]:
    return yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def build(*args: str | None) -> dict[str, Any]:
    # Runner deployments record their entrypoint relative to the working directory; serve.py
    # runs from the repo root (Makefile, tests/prefect_servers.py), as `prefect deploy` does.
    with contextlib.chdir(REPO):
        deployments = serve.build_deployments(*args)
    return {d.name: d for d in deployments}


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    return build()


def cron_schedules(deployment) -> list[tuple[str, str | None, bool]]:
    return [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]


def test_prefect_yaml_holds_only_keys_serve_py_uses():
    for raw in yaml_deployments():
        assert set(raw) <= SERVED_KEYS | DEPLOY_ONLY_KEYS, raw["name"]
        for schedule in raw.get("schedules") or []:
            assert set(schedule) <= SCHEDULE_KEYS, raw["name"]
    # The anchor in `definitions:` resolves to the same pool for every deployment.
    assert {raw["work_pool"]["name"] for raw in yaml_deployments()} == {"digitrec"}


def test_serve_py_builds_every_deployment_in_prefect_yaml_in_order(served):
    assert list(served) == [raw["name"] for raw in yaml_deployments()]
    assert list(served) == ["retraining", "predict", "daily", "review"]


@pytest.mark.parametrize("raw", yaml_deployments(), ids=lambda raw: raw["name"])
def test_each_deployment_agrees_with_prefect_yaml(served, raw):
    deployment = served[raw["name"]]
    assert deployment.entrypoint == raw["entrypoint"]
    # `prefect deploy` names the deployment after the flow the entrypoint's function defines.
    module, function = entrypoint_module(raw["entrypoint"])
    assert (REPO / raw["entrypoint"].rpartition(":")[0]).is_file()
    flow = load_flow(raw["entrypoint"])
    assert isinstance(flow, prefect.Flow)
    assert flow.fn.__module__ == module and flow.fn.__name__ == function
    assert deployment.flow_name == flow.name
    assert deployment.description == raw["description"]
    assert deployment.tags == raw["tags"]
    assert deployment.parameters == (raw.get("parameters") or {})
    expected = [
        (s["cron"], s.get("timezone"), s.get("active", True)) for s in raw.get("schedules") or []
    ]
    assert cron_schedules(deployment) == expected
    assert trigger_dumps(deployment.triggers) == trigger_dumps(deploy_triggers(raw))


def deploy_triggers(raw: dict[str, Any]) -> list:
    """The triggers `prefect deploy --all` builds from a prefect.yaml entry (its own code)."""
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers

    return _initialize_deployment_triggers(raw["name"], copy.deepcopy(raw.get("triggers") or []))


def trigger_dumps(triggers: list) -> list[dict]:
    """What the server receives: each trigger as the automation it creates for one deployment."""
    deployment_id = uuid.UUID(int=1)
    dumps = []
    for trigger in copy.deepcopy(triggers):
        trigger.set_deployment_id(deployment_id)
        dumps.append(trigger.as_automation().model_dump(mode="json", exclude={"trigger": {"id"}}))
    return dumps


def test_due_feedback_adapts_and_drift_asks_for_a_review(served):
    """The contract with the monitor flow and the review flow's event (see README): new labels
    start `adapt`; drift starts a review of the drifted window, not a retraining."""
    (labels,) = served["retraining"].triggers
    (drift,) = served["review"].triggers
    assert (labels.name, drift.name) == ("retrain-on-feedback", "review-on-drift")
    assert drift.expect == {"digitrec.monitor.drift"}
    assert drift.match.model_dump() == {"prefect.resource.id": "digitrec.monitor"}
    assert labels.expect == {"digitrec.feedback.added"}
    assert labels.match.model_dump() == {
        "prefect.resource.id": "digitrec.feedback",
        "digitrec.retrain-due": "true",
    }
    for trigger in (drift, labels):
        assert trigger.posture == "Reactive" and trigger.threshold == 1 and trigger.enabled
    assert labels.parameters == {"profile": "adapt"}
    assert drift.parameters == {
        "n": 40, "reviewer": "drift", "since": "{{ event.payload.window_start }}"
    }  # fmt: skip
    assert served["predict"].triggers == [] and served["daily"].triggers == []


def test_a_bad_trigger_fails_serve_py_as_it_fails_prefect_deploy(tmp_path):
    from deployments.settings import load_deployments

    text = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    bad = text.replace('digitrec.retrain-due: "true"', "digitrec.retrain-due: true")
    assert bad != text
    (tmp_path / "prefect.yaml").write_text(bad, encoding="utf-8")
    spec = load_deployments(tmp_path / "prefect.yaml")["retraining"]
    with pytest.raises(ValueError, match="'retraining', trigger 1"):
        serve.to_triggers(spec)
    raw = yaml.safe_load(bad)["deployments"][0]
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        deploy_triggers(raw)


def test_cli_names_of_the_deployments(served):
    # `prefect deployment run predict/predict`, `train/retraining`, `monitor/daily`,
    # `review/review` (README).
    names = {f"{d.flow_name}/{d.name}" for d in served.values()}
    assert names == {"predict/predict", "train/retraining", "monitor/daily", "review/review"}
    assert cron_schedules(served["daily"]) == [("0 6 * * *", "UTC", True)]
    assert cron_schedules(served["retraining"]) == [("0 3 * * 0", "UTC", True)]
    assert served["predict"].schedules == [] and served["review"].schedules == []


def test_cron_override_changes_only_the_retraining_schedule(served):
    overridden = build("*/5 * * * *", "Europe/Paris")
    assert cron_schedules(overridden["retraining"]) == [("*/5 * * * *", "Europe/Paris", True)]
    assert overridden["retraining"].model_dump(exclude={"schedules"}) == served[
        "retraining"
    ].model_dump(exclude={"schedules"})
    assert overridden["predict"].model_dump() == served["predict"].model_dump()
    assert overridden["review"].model_dump() == served["review"].model_dump()
    # Either half alone keeps the other half from prefect.yaml.
    assert cron_schedules(build("0 4 * * *")["retraining"]) == [("0 4 * * *", "UTC", True)]
    assert cron_schedules(build(None, "Asia/Tokyo")["retraining"]) == [
        ("0 3 * * 0", "Asia/Tokyo", True)
    ]


def test_command_line_and_environment_reach_serve(monkeypatch):
    """main() as `python deployments/serve.py` runs it, with the serving loop replaced."""
    calls = []
    monkeypatch.setattr(serve, "serve", lambda *args, **kw: calls.append((args, kw)))
    monkeypatch.setenv("DIGITREC_RETRAIN_CRON", "15 2 * * 1")
    monkeypatch.setenv("DIGITREC_SERVE_POLL_S", "0.25")
    monkeypatch.setattr("sys.argv", ["serve.py", "--timezone", "Europe/Berlin", "--limit", "3"])
    monkeypatch.chdir(REPO)
    serve.main()
    ((specs, limit, poll), kwargs) = calls[0]
    assert len(calls) == 1 and (limit, poll, kwargs) == (3, 0.25, {"fork": True})
    by_name = {d.name: d for d in map(serve.to_runner_deployment, specs)}
    assert cron_schedules(by_name["retraining"]) == [("15 2 * * 1", "Europe/Berlin", True)]
    assert by_name["retraining"].parameters == {"profile": "fast"}
    assert by_name["predict"].schedules == []
    monkeypatch.setattr("sys.argv", ["serve.py", "--spawn", "--poll", "2"])
    serve.main()
    assert calls[1][0][2] == 2.0 and calls[1][1] == {"fork": False}
