"""Background imports and the early temporary Prefect server for the CLI."""

import os
import socket
import subprocess
import sys

import pytest

from app.warmup import import_in_background


def test_modules_are_imported_in_the_background():
    sys.modules.pop("colorsys", None)  # a standard-library module nothing here imports
    thread = import_in_background(("colorsys",))
    thread.join(timeout=30)
    assert not thread.is_alive() and "colorsys" in sys.modules


def test_a_failing_import_stops_the_thread_quietly():
    thread = import_in_background(("digitrec_no_such_module", "colorsys"))
    thread.join(timeout=30)
    assert not thread.is_alive() and "digitrec_no_such_module" not in sys.modules


SERVER_PROBE = """
from prefect import flow, get_client
from prefect.server.api.server import SubprocessASGIServer
from app.warmup import prefect_api, start_prefect_server

@flow
def hello() -> str:
    return "hi"

server = start_prefect_server()
print(server is not None)
if server is not None:
    with prefect_api(server):
        state = hello(return_state=True)
        run = get_client(sync_client=True).read_flow_run(state.state_details.flow_run_id)
    # The run is recorded on this server, and Prefect started no temporary server of its own.
    print(run.state.is_completed(), len(SubprocessASGIServer._instances), server.port)
"""


def probe_server(tmp_path, **env: str) -> list[str]:
    environment = os.environ | {"PREFECT_HOME": str(tmp_path / "prefect"), **env}
    result = subprocess.run(
        [sys.executable, "-c", SERVER_PROBE],
        capture_output=True,
        text=True,
        env=environment,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


@pytest.mark.integration
def test_the_early_temporary_server_runs_the_flows_and_stops_at_exit(tmp_path):
    started, completed, prefect_servers, port = probe_server(tmp_path)
    assert (started, completed, prefect_servers) == ("True", "True", "0")
    with socket.socket() as probe:  # nothing listens there once the process has exited
        assert probe.connect_ex(("127.0.0.1", int(port))) != 0


def test_no_temporary_server_when_an_api_is_configured(tmp_path):
    assert probe_server(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api") == ["False"]
