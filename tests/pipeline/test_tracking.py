"""Tracking helpers on a temp SQLite store: recipes as params, epochs as steps, nested members."""

import pytest

from digitrec.modeling.training import TrainConfig
from digitrec.pipeline import tracking
from digitrec.pipeline.records import StageResult, Worker
from digitrec.registry import backend


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def member(name: str, curve: list[float]) -> StageResult:
    recipe = TrainConfig("compact", epochs=len(curve), batch_size=64, augmentation=None, seed=3)
    return StageResult(
        name, "compact", recipe, "m.keras", 1000, len(curve), False, 1.0, 100.0, curve[-1],
        history={"val_accuracy": curve, "loss": [1.0] * len(curve)},
        worker=Worker("host", 42, 1),
    )  # fmt: skip


def test_recipe_params_and_epoch_steps():
    stage = member("final-augmented", [0.9, 0.95, 0.97])
    params = tracking.stage_params(stage)
    assert params["final-augmented.epochs"] == "3" and params["final-augmented.seed"] == "3"
    metrics = tracking.epoch_metrics(stage, 0)
    curve = [(m.step, m.value) for m in metrics if m.key == "final-augmented.val_accuracy"]
    assert curve == [(1, 0.9), (2, 0.95), (3, 0.97)]


def test_members_are_nested_runs():
    client = backend.client()
    parent = client.create_run(backend.experiment_id(client), run_name="20261124-fast-ab12")
    tracking.log_member(client, parent.info.run_id, member("member-2", [0.8, 0.9]), 0)
    (child,) = client.search_runs(
        [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert child.info.run_name == "20261124-fast-ab12/member-2"
    assert child.data.params["member-2.architecture"] == "compact"
    assert child.data.params["worker"] == "host:42"
    assert child.data.metrics["val_accuracy"] == 0.9 and child.info.status == "FINISHED"
    steps = client.get_metric_history(child.info.run_id, "member-2.val_accuracy")
    assert [m.step for m in steps] == [1, 2]
