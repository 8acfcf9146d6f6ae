"""Progress artifacts (tasks/progress.py): keys, percentages and descriptions with the Prefect
calls recorded, then the real `train_stage` task publishing one under a Prefect test harness."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tasks import progress
from tasks.training import print_epoch

LOGS = {"loss": 0.5, "accuracy": 0.9, "val_accuracy": 0.88}


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    """Every progress artifact call, recorded instead of sent: (call, key or id, %, text)."""
    calls: list[tuple] = []

    def create(progress: float, key: str | None = None, description: str | None = None):
        calls.append(("create", key, progress, description))
        return "artifact-1"

    def update(artifact_id, progress: float, description: str | None = None):
        calls.append(("update", artifact_id, progress, description))

    monkeypatch.setattr(progress, "create_progress_artifact", create)
    monkeypatch.setattr(progress, "update_progress_artifact", update)
    return calls


def test_keys_are_valid_artifact_keys():
    for name in ("baseline", "optimized-Compact_v2", "member-12", "cross validation"):
        assert re.fullmatch(r"[a-z0-9-]+", progress.progress_key(name)), name
    assert progress.progress_key("optimized-Compact_v2") == "optimized-compact-v2-progress"


def test_a_stage_bar_starts_at_zero_and_ends_at_100_beside_the_printed_line(published, capsys):
    on_epoch = progress.both(print_epoch("baseline"), progress.epoch_progress("baseline", 2))
    on_epoch(1, 2, LOGS, 3.0)
    on_epoch(2, 2, LOGS, 3.0)
    assert published == [
        ("create", "baseline-progress", 0.0, "baseline: epoch 0/2, starting"),
        ("update", "artifact-1", 50.0, "baseline: epoch 1/2, 50% done, ETA 3s"),
        ("update", "artifact-1", 100.0, "baseline: epoch 2/2, 100% done, ETA 0s"),
    ]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("baseline epoch 1/2: loss 0.5000 accuracy 0.9000")
    assert lines[1].endswith("(3.0s, ETA 0s)")


def test_cross_validation_counts_every_fold_epoch(published):
    on_epoch = progress.epoch_progress("cross-validation", 2, rounds=3)
    for _fold in range(3):
        on_epoch(1, 2, LOGS, 1.0)
        on_epoch(2, 2, LOGS, 1.0)
    percents = [round(p, 1) for call, _, p, _ in published if call == "update"]
    assert percents == [16.7, 33.3, 50.0, 66.7, 83.3, 100.0]
    assert published[3][3] == "cross-validation: epoch 1/2 (fold 2/3), 50% done, ETA 3s"


def test_a_big_batch_publishes_a_bar_and_a_small_one_none(published):
    small = progress.batch_progress("predictions")
    for done in (0, 400, 800):
        small(done, 800)
    assert published == []
    big = progress.batch_progress("predictions")
    for done in (0, 1024, 2048, 2500):
        big(done, 2500)
    assert published[0] == ("create", "predictions-progress", 0.0, "predictions: 0/2,500 inputs")
    assert [round(p, 2) for _, _, p, _ in published[1:]] == [40.96, 81.92, 100.0]
    assert published[-1][3].startswith("predictions: 2,500/2,500 inputs, 100% done, ETA 0s")


def test_a_failed_update_never_stops_the_step(published, monkeypatch, capsys):
    def refused(*args, **kwargs):
        raise httpx.ConnectError("the API went away")

    monkeypatch.setattr(progress, "update_progress_artifact", refused)
    progress.epoch_progress("baseline", 1)(1, 1, LOGS, 1.0)
    assert "progress of baseline not updated: the API went away" in capsys.readouterr().err


def stage_artifacts(flow_run_id) -> list:
    """The flow run's artifacts, read back through the Prefect client."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            return await client.read_artifacts(artifact_filter=flt)

    return asyncio.run(read())


@pytest.mark.slow
def test_train_stage_publishes_a_progress_artifact_that_reaches_100(
    prefect_harness, small_kaggle_dir, tmp_path, monkeypatch
):
    from tests.progress_flows import STAGE, train_probe

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    state = train_probe(data_dir=str(small_kaggle_dir), epochs=2, return_state=True)
    assert state.is_completed() and len(state.result().history["loss"]) == 2
    (bar,) = [a for a in stage_artifacts(state.state_details.flow_run_id) if a.type == "progress"]
    assert bar.key == f"{STAGE}-progress" and bar.task_run_id is not None
    assert bar.data == 100.0
    assert bar.description.startswith(f"{STAGE}: epoch 2/2, 100% done, ETA 0s")
