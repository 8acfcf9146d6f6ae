"""A running training stage's progress artifact, seen advancing in the Prefect UI (headless
Chromium) on a real server: the flow holds after each epoch until the page has shown it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.integration.test_ui import PAGE_S, chromium, click, wait_text
from tests.prefect_servers import REPO, Server, stop, wait_for
from tests.progress_flows import FLOW_NAME, STAGE

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START_S = 180  # the flow's process imports Prefect and TensorFlow on 2 busy cores


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def running_probe(server: Server):
    """The probe flow's run once the server has it RUNNING, else None."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    flt = FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))
    runs = server.api(lambda c: c.read_flow_runs(flow_filter=flt))
    return next((r for r in runs if r.state and r.state.is_running()), None)


def start_probe(server: Server, data_dir, tmp_path) -> subprocess.Popen:
    """`train_probe` in its own process against `server`, holding after each epoch."""
    code = (
        "from tests.progress_flows import train_probe; "
        f"train_probe(data_dir={str(data_dir)!r}, epochs=2, hold_dir={str(tmp_path)!r})"
    )
    env = server.client_env(tmp_path / "prefect", DIGITREC_HOME=str(tmp_path / "home"))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        stdout=(tmp_path / "flow.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_running_stage_shows_its_progress_advance(
    server, browser: WebDriver, small_kaggle_dir, tmp_path
):
    process = start_probe(server, small_kaggle_dir, tmp_path)
    try:
        run = wait_for(lambda: running_probe(server), START_S, "the probe flow run RUNNING", 1)
        browser.get(f"{server.url}/runs/flow-run/{run.id}")
        click(browser, "//li[contains(@class, 'p-tab')][normalize-space()='Artifacts']")
        # The tab polls every 5 s while the run runs; the flow waits after each epoch.
        wait_text(browser, f"{STAGE}-progress", f"{STAGE}: epoch 1/2, 50% done", timeout=START_S)
        (tmp_path / "epoch-1").touch()
        text = wait_text(browser, f"{STAGE}: epoch 2/2, 100% done")
        assert "epoch 1/2" not in text  # the same artifact moved on, not a second one
        assert running_probe(server) is not None  # still running: the page saw it live

        artifact = browser.find_element("xpath", "//a[contains(@href, '/artifacts/artifact/')]")
        browser.get(artifact.get_attribute("href"))
        wait_text(browser, f"{STAGE}-progress", "Progress: 100%", timeout=PAGE_S)
        (tmp_path / "epoch-2").touch()
        assert process.wait(START_S) == 0, (tmp_path / "flow.log").read_text()[-3000:]
    finally:
        stop(process)
