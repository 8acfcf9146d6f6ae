"""The MLflow link of a training run (tasks/tracking.py): shown only when an MLflow server answers
its /health, else replaced by the command that serves the UI on the run's store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.tracking import mlflow_link, mlflow_ui_answers
from tests.prefect_servers import free_port

RUN_URL = "/#/experiments/1/runs/abc123"


@pytest.fixture(autouse=True)
def embedded_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


class Health(BaseHTTPRequestHandler):
    """Answers /health as `mlflow server` does; anything else is not found."""

    def do_GET(self) -> None:
        found = self.path == "/health"
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(b"OK" if found else b"")

    def log_message(self, *args) -> None:  # no request lines in the test output
        pass


@pytest.fixture
def mlflow_up() -> Iterator[str]:
    """A tiny HTTP server on loopback answering /health, as an MLflow UI's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_running_server_gets_the_link(mlflow_up):
    assert mlflow_ui_answers(mlflow_up)
    description, line = mlflow_link(mlflow_up + RUN_URL, mlflow_up)
    assert line == f"MLflow run: {mlflow_up}{RUN_URL}"
    assert "not running" not in description and "MLflow" in description


def test_no_server_gets_the_command_that_starts_the_ui(tmp_path):
    ui_url = f"http://127.0.0.1:{free_port()}"  # bound, then closed: nothing listens there
    assert not mlflow_ui_answers(ui_url)
    description, line = mlflow_link(ui_url + RUN_URL, ui_url)
    command = f"ui --backend-store-uri sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    port = ui_url.rsplit(":", 1)[1]
    for text in (description, line):
        assert f"No MLflow server is running at {ui_url}" in text
        assert command in text and f"--port {port}" in text and "bin/mlflow " in text
    assert RUN_URL not in line  # no dead link printed


def test_a_remote_store_points_at_make(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    ui_url = f"http://127.0.0.1:{free_port()}"
    _, line = mlflow_link(ui_url + RUN_URL, ui_url)
    assert line.endswith("start the MLflow UI: make mlflow-server")
