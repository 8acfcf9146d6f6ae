"""deployments/forkserver.py: flow runs start from a fork of a warm process that has imported
the flow's module, and a flow reaches the run's process by name (also under `spawn`)."""

from __future__ import annotations

import copyreg
import json
import multiprocessing
import os

import cloudpickle
import prefect.flow_engine
import pytest
from prefect import Flow, flow
from prefect.flow_engine import run_flow_in_subprocess

from deployments import forkserver
from tests.deployments import forkserver_flows
from tests.deployments.forkserver_flows import where_am_i


@pytest.fixture
def restored(monkeypatch):
    """Whatever the test installs is undone afterwards: other tests spawn as Prefect does."""
    monkeypatch.setattr(prefect.flow_engine, "multiprocessing", multiprocessing)
    monkeypatch.setitem(copyreg.dispatch_table, Flow, None)  # noted, then removed at teardown
    copyreg.dispatch_table.pop(Flow)


def test_a_module_flow_travels_by_name_and_a_local_one_by_value(restored):
    @flow(name="local")
    def local() -> int:
        return 7

    forkserver.send_flows_by_name()
    assert cloudpickle.loads(cloudpickle.dumps(where_am_i)) is where_am_i
    copy = cloudpickle.loads(cloudpickle.dumps(local))
    assert copy is not local and copy.name == "local" and copy.fn() == 7


def run_and_report(tmp_path, name: str) -> tuple[multiprocessing.process.BaseProcess, dict]:
    report = tmp_path / f"{name}.json"
    process = run_flow_in_subprocess(where_am_i, parameters={"report": str(report), "repeat": 2})
    process.join(120)
    return process, (json.loads(report.read_text()) if report.exists() else {})


@pytest.mark.integration  # a Prefect test server
def test_runs_fork_from_a_server_that_imported_the_flow(prefect_harness, tmp_path, restored):
    forkserver.start_runs_by_fork([forkserver_flows.__name__])
    assert forkserver.starts_runs_by_fork()
    runs = [run_and_report(tmp_path, f"run-{i}") for i in range(2)]
    for process, facts in runs:
        assert isinstance(process, multiprocessing.context.ForkServerProcess)
        assert process.exitcode == 0 and facts["repeat"] == 2  # the Annotated parameter resolved
        assert facts["parent"] != os.getpid()  # a child of the fork server, not of this process
        assert facts["imported_in"] == facts["parent"]  # imported once, before the fork
    assert runs[0][1]["pid"] != runs[1][1]["pid"]  # each run its own process


@pytest.mark.integration  # a Prefect test server
def test_spawned_runs_get_the_module_flow_too(prefect_harness, tmp_path, restored):
    """Prefect's own start (a fresh interpreter) with flows sent by name: the string
    annotations resolve in the run's process, which imported the module itself."""
    forkserver.send_flows_by_name()
    process, facts = run_and_report(tmp_path, "spawned")
    assert isinstance(process, multiprocessing.context.SpawnProcess)
    assert process.exitcode == 0 and facts["repeat"] == 2
    assert facts["imported_in"] == facts["pid"]
