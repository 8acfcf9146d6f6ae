"""The local server under a short burst of this project's own load (bench/load_server.py's,
scaled down): predict runs created at once, a review paused and resumed through the API, a
monitor run, and a poller on what the UI polls. On PostgreSQL, as `make server` runs it: every
run completes, the poller never gets a 5xx, and the server logs no error."""

from __future__ import annotations

import pytest

from bench.load_server import run_load

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_burst_of_runs_leaves_no_error_on_postgres(server, served):
    assert server.db == "postgres"
    result = run_load(server, predict=12, review=1, monitor=True, timeout=600)
    assert result.states == {"COMPLETED": 14}, result.states
    assert result.paused_resumed == 1
    assert result.polls > 20 and result.poll_5xx == 0 and result.poll_errors == 0
    assert result.locked == 0 and result.error_lines == []
