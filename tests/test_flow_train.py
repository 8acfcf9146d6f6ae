"""The `train` flow end to end on 800 real images, under a Prefect test harness."""

import asyncio
import json

import pandas as pd
import pytest

from digitrec import registry
from digitrec.data import load_answers
from digitrec.runtime import INT8_MIN_AGREEMENT
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


def test_train_flow_end_to_end(prefect_harness, home, medium_kaggle_dir, strong_model_path):
    from flows.training import train

    result = train(data_dir=str(medium_kaggle_dir), epochs=3, batch_size=64, seed=0)
    run_dir = home / "runs" / result["run_dir"].split("/")[-1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["hidden_test_accuracy"] == result["hidden_test_accuracy"]
    assert metrics["holdout"]["wilson_low"] <= metrics["holdout"]["accuracy"]
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["final-augmented"]["val_accuracy"]) == 3
    # A stage's validation accuracy is exactly its saved model's share of correct digits.
    import keras

    from digitrec.steps import load_split
    from digitrec.training import predict_proba

    train_data, _, val_idx = load_split(str(medium_kaggle_dir / "train.csv"), run_dir / "split.npz")
    final_model = keras.saving.load_model(run_dir / "models" / "final-augmented.keras")
    probs = predict_proba(final_model, train_data.images[val_idx])  # (300, 10)
    stage = json.loads((run_dir / "stages" / "final-augmented.json").read_text())
    assert stage["val_accuracy"] == (probs.argmax(1) == train_data.labels[val_idx]).mean()
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
    ):
        assert (run_dir / name).is_file(), name
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
    }
    # Submission: ImageId 1..500 and labels that score like the reported hidden-test accuracy.
    submission = pd.read_csv(run_dir / "submission.csv")
    assert list(submission.columns) == ["ImageId", "Label"]
    assert submission["ImageId"].tolist() == list(range(1, 501))
    answers = load_answers(medium_kaggle_dir / "test_labels.csv")
    assert result["hidden_test_accuracy"] == pytest.approx((submission["Label"] == answers).mean())
    assert result["hidden_test_accuracy"] > 0.85
    assert (run_dir / "model.tflite").is_file()
    # The int8 export is kept exactly when it agrees with Keras often enough.
    exported = json.loads((run_dir / "export.json").read_text())
    assert 0.5 < exported["int8_agreement"] <= 1.0
    kept = exported["int8_agreement"] >= INT8_MIN_AGREEMENT
    assert (run_dir / "model.int8.tflite").is_file() == kept == (exported["int8_path"] is not None)
    # First model with no champion: promoted.
    assert result["champion"] is True
    assert registry.champion()["run_id"] == run_dir.name
    # Artifacts, read back through the Prefect API.
    report = read_artifact("train-report")
    assert report is not None and "data:image/png;base64," in report.data
    assert run_dir.name in report.data and "Classification report" in report.data
    cm = read_artifact("confusion-matrix")
    rows = json.loads(cm.data) if isinstance(cm.data, str) else cm.data
    assert len(rows) == 10
    assert sum(sum(v for k, v in r.items() if k != "true") for r in rows) == 300  # 10% of 3,000
    assert read_artifact("classification-report") is not None
    assert (run_dir / "report.md").read_text() == report.data

    # A much stronger champion (trained on 6,000 images) is kept: the tiny run does not beat it.
    registry.register({"run_id": "strong", "model_path": str(strong_model_path)}, promote=True)
    second = train(data_dir=str(medium_kaggle_dir), epochs=1, seed=0)
    assert second["champion"] is False and "does not beat" in second["champion_reason"]
    assert registry.champion()["run_id"] == "strong"
    assert len(registry.read_registry()["models"]) == 3


def test_bad_data_fails_the_run_and_keeps_the_champion(
    prefect_harness, home, small_kaggle_dir, strong_model_path, train_header
):
    from flows.training import train

    registry.register({"run_id": "strong", "model_path": str(strong_model_path)}, promote=True)
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
