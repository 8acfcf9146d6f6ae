"""The `train` flow end to end on 800 real images, under a Prefect test harness."""

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from digitrec import registry
from digitrec.data.kaggle import load_answers
from digitrec.hardware import choose_precision
from digitrec.inference.runtimes import INT8_MIN_AGREEMENT, load_predictor
from digitrec.modeling.rejection import MAX_DIGITS_REJECTED
from tests.conftest import write_rows

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def read_artifact(key: str):
    """The newest artifact under `key`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def latest():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            return found[0] if found else None

    return asyncio.run(latest())


FEEDBACK_ROWS = 40


@pytest.fixture(scope="module")
def first_run(prefect_harness, tmp_path_factory, medium_kaggle_dir, mnist_arrays):
    """One tiny training run (the first in its home, so no champion yet; 40 reviewed digits in
    its feedback store), shared by the tests below: (result, run folder, home). Its home stays
    set for the whole module."""
    from digitrec.loop import feedback
    from flows.training import train

    home = tmp_path_factory.mktemp("train-flow") / "home"
    images, labels = mnist_arrays
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITREC_HOME", str(home))
        patch.setenv("DIGITREC_READER_STEPS", "20")  # a tiny number reader, trained once
        feedback.add(
            [
                feedback.FeedbackRow.new(str(int(labels[i])), images[i], "review", "tester")
                for i in range(61_000, 61_000 + FEEDBACK_ROWS)
            ]
        )
        result = train(data_dir=str(medium_kaggle_dir), epochs=3, batch_size=64, seed=0)
        yield result, home / "runs" / result.run_dir.split("/")[-1], home


def test_run_folder_holds_every_file_and_figure(first_run):
    result, run_dir, _ = first_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["hidden_test_accuracy"] == result.hidden_test_accuracy
    assert metrics["holdout"]["wilson_low"] <= metrics["holdout"]["accuracy"]
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["final-augmented"]["val_accuracy"]) == 3
    for name in (
        "model.keras",
        "model.tflite",
        "report.md",
        "submission.csv",
        "validation.json",
        "split.npz",
        "evaluation.json",
        "registration.json",
        "stages/baseline.json",
        "stages/optimized-compact.json",
        "stages/final-augmented.json",
        "model.number_reader.keras",
        "model.number_reader.json",
    ):
        assert (run_dir / name).is_file(), name
    assert set(metrics["numbers"]["exact"]) == {"apart", "close", "touching"}
    assert metrics["numbers"]["trained"] and "## Written numbers" in Path(result.report).read_text()
    figures = {p.stem for p in (run_dir / "figures").glob("*.png")}
    assert figures >= {
        "samples",
        "class_balance",
        "mean_images",
        "pixel_histogram",
        "confusion_matrix",
        "misclassified",
        "training_curves",
        "model_comparison",
        "reliability",
        "rejection_roc",
        "number_reader",
    }


def test_stage_accuracy_is_its_saved_models_exact_share(first_run, medium_kaggle_dir):
    import keras

    from digitrec.data.kaggle import load_csv
    from digitrec.modeling.training import predict_proba

    _, run_dir, _ = first_run
    train_data = load_csv(medium_kaggle_dir / "train.csv", kind="train")
    with np.load(run_dir / "split.npz") as split:
        val_idx = split["validation"]
    final_model = keras.saving.load_model(run_dir / "models" / "final-augmented.keras")
    probs = predict_proba(final_model, train_data.images[val_idx])  # (300, 10)
    stage = json.loads((run_dir / "stages" / "final-augmented.json").read_text())
    assert stage["val_accuracy"] == (probs.argmax(1) == train_data.labels[val_idx]).mean()


def test_submission_scores_as_reported(first_run, medium_kaggle_dir):
    result, run_dir, _ = first_run
    # ImageId 1..500 and labels that score like the reported hidden-test accuracy.
    submission = pd.read_csv(run_dir / "submission.csv")
    assert list(submission.columns) == ["ImageId", "Label"]
    assert submission["ImageId"].tolist() == list(range(1, 501))
    answers = load_answers(medium_kaggle_dir / "test_labels.csv")
    assert result.hidden_test_accuracy == pytest.approx((submission["Label"] == answers).mean())
    assert result.hidden_test_accuracy > 0.85


def test_int8_export_is_kept_exactly_when_it_agrees(first_run):
    _, run_dir, _ = first_run
    assert (run_dir / "model.tflite").is_file()
    exported = json.loads((run_dir / "export.json").read_text())
    assert exported["agreements"]["litert"] == 1.0
    assert exported["files"]["litert"] == str(run_dir / "model.tflite")
    assert 0.5 < exported["agreements"]["int8"] <= 1.0
    kept = exported["agreements"]["int8"] >= INT8_MIN_AGREEMENT
    assert (
        (run_dir / "model.int8.tflite").is_file() == kept == (exported["files"]["int8"] is not None)
    )
    # auto runs int8 only when it scored at least as well as float LiteRT on validation.
    accuracies = exported["accuracies"]
    assert set(accuracies) == {"keras", *(name for name, f in exported["files"].items() if f)}
    assert accuracies["litert"] == accuracies["keras"]  # the float export predicts Keras' digits
    expected = "int8" if kept and accuracies["int8"] >= accuracies["litert"] else None
    assert exported["auto_runtime"] == expected
    assert load_predictor(run_dir / "model.keras")[1] == (expected or "litert")


def test_calibration_and_gate_are_stored_beside_the_model(first_run):
    result, run_dir, _ = first_run
    calibration = json.loads((run_dir / "model.calibration.json").read_text())
    assert 0.05 <= calibration["temperature"] <= 20
    gate = json.loads((run_dir / "model.gate.json").read_text())
    assert (run_dir / "model.gate.tflite").is_file()
    # The threshold is set to reject at most MAX_DIGITS_REJECTED of the validation digits.
    assert gate["digits_rejected"] <= MAX_DIGITS_REJECTED and gate["auc"] > 0.8
    report = (run_dir / "report.md").read_text()
    assert "## Calibration" in report and "## Not a digit" in report
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["calibration"]["temperature"] == calibration["temperature"]


def test_first_model_is_promoted_and_its_artifacts_render(first_run):
    result, run_dir, _ = first_run
    assert result.champion is True
    assert registry.champion().run_id == run_dir.name
    # Artifacts, read back through the Prefect API.
    report = read_artifact("train-report")
    assert report is not None and "data:image/png;base64," in report.data
    assert run_dir.name in report.data and "Classification report" in report.data
    cm = read_artifact("confusion-matrix")
    rows = json.loads(cm.data) if isinstance(cm.data, str) else cm.data
    assert len(rows) == 10
    with np.load(run_dir / "split.npz") as split:
        validation_rows = len(split["validation"])  # about 10% of 3,000, chosen by content hash
    assert 250 < validation_rows < 350
    assert sum(sum(v for k, v in r.items() if k != "true") for r in rows) == validation_rows
    assert read_artifact("classification-report") is not None
    assert (run_dir / "report.md").read_text() == report.data
    # The CPU and the precision chosen for it (bfloat16 only where it is native), and the gate.
    chosen = choose_precision("auto")
    assert f"Trained in **{chosen.precision}** ({chosen.reason}" in report.data
    assert chosen.cpu.model in report.data
    gate = read_artifact("champion-gate")
    gate_rows = json.loads(gate.data) if isinstance(gate.data, str) else gate.data
    assert gate_rows[0]["slice"] == "base validation" and gate_rows[0]["pass"] is True
    assert "Champion gate" in report.data


def test_the_run_is_tracked_and_registered_in_mlflow(first_run):
    """One MLflow run per flow run: params, per-epoch metrics, report, version, alias, links."""
    from mlflow import MlflowClient

    from digitrec.registry import backend

    _, run_dir, home = first_run
    client = MlflowClient(backend.tracking_uri())
    registration = json.loads((run_dir / "registration.json").read_text())
    run = client.get_run(registration["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags[backend.RUN_TAG] == run_dir.name
    assert run.data.params["profile"] == "fast" and run.data.params["final-augmented.epochs"] == "3"
    chosen = choose_precision("auto")
    assert run.data.params["precision"] == chosen.precision
    assert run.data.params["cpu_model"] == chosen.cpu.model
    assert run.data.params["final-augmented.precision"] == chosen.policy
    curve = client.get_metric_history(run.info.run_id, "final-augmented.val_accuracy")
    assert [m.step for m in curve] == [1, 2, 3]
    for key in ("val_accuracy", "val_wilson_low", "hidden_test_accuracy", "gate_auc"):
        assert key in run.data.metrics, key
    assert "prefect.flow_run_id" in run.data.tags and "data_fingerprint" in run.data.tags
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "figures", "submission.csv", "validation.json", "model", "files"} <= logged
    version = client.get_model_version_by_alias("digitrec", "champion")
    assert version.run_id == run.info.run_id and int(version.version) == registration["version"]
    files = {a.path.split("/")[-1] for a in client.list_artifacts(run.info.run_id, "files")}
    assert {"model.keras", "model.tflite", "model.calibration.json", "export.json"} <= files
    link = read_artifact("mlflow-run")
    assert link is not None and run.info.run_id in link.data


def test_a_retraining_with_nothing_new_ends_at_once(first_run, medium_kaggle_dir):
    from flows.training import train

    result, _, home = first_run
    started = time.perf_counter()
    again = train(data_dir=str(medium_kaggle_dir), epochs=3, batch_size=64, seed=0)
    assert again.skipped and again.champion and again.run_dir == result.run_dir
    assert again.champion_reason.startswith("skipped: the data, reviewed feedback, code")
    assert time.perf_counter() - started < 60  # no training: data, key, champion lookup only
    assert len(list((home / "runs").iterdir())) == 1  # and no new run folder


def test_adapt_continues_from_the_champion_and_is_judged_slice_by_slice(
    first_run, medium_kaggle_dir
):
    """After the tests above (pytest keeps file order): `adapt` trains one stage from the
    champion's weights, corrections a quarter of every batch, and the gate compares slices."""
    from flows.training import train

    _, run_dir, home = first_run
    adapted = train(data_dir=str(medium_kaggle_dir), profile="adapt", seed=0)
    new_dir = home / "runs" / adapted.run_dir.split("/")[-1]
    assert [p.stem for p in (new_dir / "stages").glob("*.json")] == ["adapted"]
    recipe = json.loads((new_dir / "stages" / "adapted.json").read_text())["recipe"]
    assert (recipe["emphasis_share"], recipe["steps_per_epoch"], recipe["epochs"]) == (0.25, 100, 3)
    registration = json.loads((new_dir / "registration.json").read_text())
    assert [row["slice"] for row in registration["gate"]][:2] == ["base validation",
                                                                 "feedback holdout"]  # fmt: skip
    assert registration["previous_champion"] == run_dir.name
    assert "## Champion gate" in (new_dir / "report.md").read_text()
    # The champion's number reader comes along unchanged, measurements and all.
    carried = json.loads((new_dir / "model.number_reader.json").read_text())
    assert (
        carried["exact"] == json.loads((run_dir / "model.number_reader.json").read_text())["exact"]
    )


def test_a_failure_after_promotion_gives_the_title_back(
    prefect_harness, tmp_path, monkeypatch, medium_kaggle_dir
):
    from digitrec.pipeline import report
    from flows.training import train

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))

    def broken(*args, **kwargs):
        raise RuntimeError("the report step broke")

    monkeypatch.setattr(report, "build_report", broken)  # fails after register_model promoted
    with pytest.raises(RuntimeError, match="the report step broke"):
        train(data_dir=str(medium_kaggle_dir), epochs=1, batch_size=64, seed=0)
    assert registry.champion() is None  # the alias moved back to no champion
    (version,) = registry.versions()
    assert version.promoted is False and version.decision.startswith("rolled back")
    assert version.aliases == ()


def test_a_stronger_champion_is_kept(first_run, medium_kaggle_dir, strong_model_path):
    """Runs after the tests that read the first run's artifacts (pytest keeps file order)."""
    from flows.training import train

    registry.register(
        registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)), promote=True
    )
    second = train(data_dir=str(medium_kaggle_dir), epochs=1, seed=0)
    assert second.champion is False and "does not beat" in second.champion_reason
    assert registry.champion().run_id == "strong"
    assert len(registry.versions()) == 4  # the first run, the adapt run, "strong", this run


def test_bad_data_fails_the_run_and_keeps_the_champion(
    prefect_harness, home, small_kaggle_dir, strong_model_path, train_header
):
    from flows.training import train

    registry.register(
        registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)), promote=True
    )
    before = registry.registry_path().read_bytes()
    bad = home / "bad"
    bad.mkdir(parents=True)
    rows = [[d % 10, *([0] * 300), 200, *([0] * 483)] for d in range(40)]
    rows[7][0] = 10  # label 10 on data row 8
    write_rows(bad / "train.csv", train_header, rows)
    (bad / "test.csv").write_text((small_kaggle_dir / "test.csv").read_text())
    with pytest.raises(ValueError, match="label"):
        train(data_dir=str(bad), epochs=1)
    assert registry.registry_path().read_bytes() == before
    failed = read_artifact("data-validation")
    assert failed is not None and "label" in failed.data
    assert not any(home.glob("runs/*/model.keras"))
    stored = json.loads(next(home.glob("runs/*/validation.json")).read_text())
    assert stored["success"] is False


def test_reviewed_digits_train_and_score_the_model(first_run):
    _, run_dir, _ = first_run
    with np.load(run_dir / "feedback.npz") as saved:
        trained, held = len(saved["train_labels"]), len(saved["holdout_labels"])
    assert trained + held == FEEDBACK_ROWS and held > 0
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["feedback_rows"] == held and 0 <= evaluation["feedback_accuracy"] <= 1
    report = (run_dir / "report.md").read_text()
    assert "reviewed production digits (feedback holdout)" in report
    registration = json.loads((run_dir / "registration.json").read_text())
    assert len(registration["data_fingerprint"]["feedback"]) == 64  # sha256 of the rows used
    artifact = read_artifact("feedback")
    assert artifact is not None and "Used: **yes**" in artifact.data


def test_a_promotion_emits_its_event(first_run):
    from prefect.client.orchestration import get_client

    result, _, _ = first_run
    assert result.champion

    async def promoted() -> list[dict]:
        body = {"filter": {"event": {"name": ["digitrec.model.promoted"]}}, "limit": 10}
        async with get_client() as client:
            response = await client._client.post("/events/filter", json=body)
            response.raise_for_status()
            return response.json()["events"]

    deadline = time.monotonic() + 30
    while not (events := asyncio.run(promoted())) and time.monotonic() < deadline:
        time.sleep(1)
    assert events, "no digitrec.model.promoted event reached the server"
    assert any(e["payload"]["run_id"] == result.run_dir.split("/")[-1] for e in events)
