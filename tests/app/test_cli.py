"""The `digitrec` command as a user runs it: a fresh process each time."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from digitrec import registry


def digitrec(*args: str, home) -> subprocess.CompletedProcess:
    env = os.environ | {"DIGITREC_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_predict_command(tmp_path, monkeypatch, mnist_arrays, strong_model_path):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    registry.register(
        registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)), promote=True
    )
    images, labels = mnist_arrays
    path = tmp_path / "digit.png"
    cv2.imwrite(str(path), cv2.resize(255 - images[60001], (112, 112)))
    result = digitrec("predict", str(path), str(tmp_path / "missing.png"), "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["digit"] == int(labels[60001]) and lines[0]["error"] is None
    assert "not found" in lines[1]["error"]
    plain = digitrec("predict", str(path), "--top-k", "2", home=tmp_path)
    assert f": {int(labels[60001])} (" in plain.stdout and "top:" in plain.stdout
    none = digitrec("predict", str(tmp_path / "missing.png"), home=tmp_path)
    assert none.returncode == 1 and "not found" in none.stdout


@pytest.mark.slow
def test_predictions_go_to_the_log_unless_turned_off(tmp_path, mnist_arrays, strong_model_path):
    from digitrec.loop import log

    os.environ["DIGITREC_HOME"] = str(tmp_path)
    try:
        registry.register(
            registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)),
            promote=True,
        )
        images, labels = mnist_arrays
        path = tmp_path / "digit.png"
        cv2.imwrite(str(path), cv2.resize(255 - images[60002], (112, 112)))
        rows = tmp_path / "rows.csv"
        header = ",".join(f"pixel{i}" for i in range(784))
        pixels = [",".join(map(str, images[60000 + i].reshape(-1))) for i in range(5)]
        rows.write_text("\n".join([header, *pixels]) + "\n")
        assert digitrec("predict", str(path), str(rows), home=tmp_path).returncode == 0
        assert digitrec("predict", str(path), "--no-log", home=tmp_path).returncode == 0
        records = log.read()
    finally:
        del os.environ["DIGITREC_HOME"]
    assert [(r.source, r.input) for r in records] == [("cli", "digit.png"), ("cli", "rows.csv")]
    image, batch = records
    assert image.digit == int(labels[60002]) and image.confidence > 0.5
    assert (
        log.seen_images(image)[0].shape == (28, 28) and image.model == "models/cache/1/strong.keras"
    )  # version 1, relative
    assert batch.summary["rows"] == 5 and batch.image_png is None  # one summary, no pixels


def test_predict_without_champion_is_a_clear_error(tmp_path):
    result = digitrec("predict", "x.png", home=tmp_path)
    assert result.returncode == 2 and "no champion model yet" in result.stderr


def test_data_json(tmp_path, small_kaggle_dir):
    # The embedded data is built under DIGITREC_HOME on first use (about 10 s).
    result = digitrec("data", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["train_rows"] == 42_000 and info["test_rows"] == 28_000
    assert sum(info["class_counts"].values()) == 42_000
    assert np.isclose(min(info["class_counts"].values()) / 42_000, 0.09, atol=0.01)


@pytest.mark.slow
@pytest.mark.integration
def test_train_command_on_a_kaggle_folder(tmp_path, small_kaggle_dir):
    # Prefect's ephemeral mode (a temporary server) while TensorFlow and Great Expectations
    # load in the background.
    result = digitrec(
        "train", "--data-dir", str(small_kaggle_dir), "--epochs", "1", "--seed", "3", home=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[-8:] if line.strip())
    run_dir = tmp_path / "runs" / lines["run"].split()[-1].rsplit("/", 1)[-1]
    assert (run_dir / "model.keras").is_file() and (run_dir / "submission.csv").is_file()
    # The summary prints the run's own metrics (600 images, 1 epoch: accuracy is not the point;
    # the champion gate refuses a first model below 50% on validation, so either answer is
    # possible, and the line must say what the run decided).
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert lines["champion"].startswith("yes" if metrics["champion"] else "no (")
    assert lines["hidden-test"].split()[-1] == f"{metrics['hidden_test_accuracy']:.4%}"


@pytest.mark.slow  # the whole train command, and its temporary server
def test_bad_data_folder_fails_the_train_command(tmp_path):
    result = digitrec("train", "--data-dir", str(tmp_path / "nowhere"), home=tmp_path)
    assert result.returncode != 0
    assert f"{tmp_path / 'nowhere' / 'train.csv'}: not found" in result.stdout + result.stderr
