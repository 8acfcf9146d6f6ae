"""Tracking and registry against a real `mlflow server` on a free loopback port: a tiny training
run lands in it (run, per-epoch metrics, report, version, alias), and a machine with an empty
cache predicts through the `champion` alias after `digitrec registry sync`."""

import base64
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from digitrec import registry
from tests.integration import test_ui
from tests.integration.test_ui import wait_text
from tests.prefect_servers import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.integration]
browser = test_ui.browser  # headless Chromium, as the Prefect UI tests drive it
REPO = Path(__file__).resolve().parents[2]


def answers(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/health", timeout=2).status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`mlflow server` on SQLite with proxied artifacts, one worker, stopped afterwards."""
    root = tmp_path_factory.mktemp("mlflow-server")
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
        "--port", url.rsplit(":", 1)[1], "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        wait_for(lambda: answers(url) or process.poll() is not None, 120, "mlflow server")
        assert process.poll() is None, (root / "server.log").read_text()[-2000:]
        yield url, root
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_training_run_and_champion_through_a_server(
    mlflow_server, prefect_harness, tmp_path, monkeypatch, medium_kaggle_dir, browser
):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from app.cli import app
    from digitrec.modeling.profiles import FAST
    from flows.training import train
    from tests.predictions import predict_inputs

    url, root = mlflow_server
    home = tmp_path / "home"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("DIGITREC_HOME", str(home))
    result = train(data_dir=str(medium_kaggle_dir), epochs=2, batch_size=64, seed=1)
    run_name = Path(result.run_dir).name

    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("digitrec")
    (run,) = client.search_runs(
        [experiment.experiment_id], f"tags.`digitrec.run_id` = '{run_name}'"
    )
    baseline_steps = [m.step for m in client.get_metric_history(run.info.run_id, "baseline.loss")]
    assert baseline_steps == list(range(1, FAST.baseline.epochs + 1))  # stepped by epoch
    curve = client.get_metric_history(run.info.run_id, "final-augmented.val_accuracy")
    assert [m.step for m in curve] == [1, 2]
    assert run.data.metrics["val_accuracy"] == pytest.approx(result.val_accuracy)
    assert "report.md" in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert any((root / "artifacts").rglob("report.md"))  # stored by the server, not the client
    champion = client.get_model_version_by_alias("digitrec", "champion")
    assert champion.run_id == run.info.run_id and champion.tags["promoted"] == "true"

    # Another machine: an empty DIGITREC_HOME, the same server.
    local = predict_inputs(Path(result.run_dir) / "model.keras", ["samples/seven.png"])
    shutil.rmtree(home / "models")
    with pytest.raises(FileNotFoundError, match="no champion"):
        registry.resolve_model("champion")
    synced = CliRunner().invoke(app, ["registry", "sync"])
    assert synced.exit_code == 0 and f"version {champion.version}" in synced.output
    remote = predict_inputs(registry.resolve_model("champion"), ["samples/seven.png"])
    assert remote[0].digit == local[0].digit and remote[0].confidence == local[0].confidence
    assert os.environ["MLFLOW_TRACKING_URI"] == url

    # The MLflow UI, in headless Chromium: the experiment lists the run, and the registered
    # model shows the champion alias.
    browser.get(f"{url}/#/experiments/{experiment.experiment_id}/runs")  # the runs table
    wait_text(browser, run_name)
    browser.get(f"{url}/#/models/digitrec")
    wait_text(browser, "champion", f"Version {champion.version}")


def responds(url: str) -> bool:
    """Any HTTP answer, a refusal included: the server is up."""
    try:
        urllib.request.urlopen(f"{url}/health", timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def test_basic_auth_refuses_anonymous_calls(tmp_path):
    """MLflow's basic-auth app, started as the README tells a team to: no credentials, no
    answer; the admin's credentials, an answer."""
    config = tmp_path / "auth.ini"
    config.write_text(
        "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///basic_auth.db\n"
        "admin_username = admin\nadmin_password = a-long-secret-1\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server", "--app-name", "basic-auth",
        "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--artifacts-destination", str(tmp_path / "artifacts"),
    ]  # fmt: skip
    env = os.environ | {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-test-only-secret",  # CSRF tokens need one
    }
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    try:
        wait_for(lambda: responds(url) or process.poll() is not None, 120, "mlflow auth server")
        assert process.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
        search = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(search, timeout=10)
        assert refused.value.code == 401
        secret = base64.b64encode(b"admin:a-long-secret-1").decode()
        signed = urllib.request.Request(search, headers={"Authorization": f"Basic {secret}"})
        assert urllib.request.urlopen(signed, timeout=10).status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
