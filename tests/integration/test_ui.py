"""The Prefect UI in headless Chromium against a real server serving the deployments."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from tests.prefect_servers import (
    Server,
    wait_for,
)

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver once (a fresh CI machine lacks them)."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError("chromium is missing and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, timeout=600, env=env)
    packages = ["chromium", "chromium-driver"]
    subprocess.run(["apt-get", "install", "-y", *packages], check=True, timeout=1800, env=env)


FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --no-first-run --disable-sync --window-size=1400,1000"
).split()
PAGE_S = 60  # a single-page app on 2 busy cores
RECLICK_S = 20  # how long a submit click may take to show its effect before another


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless Debian Chromium through its own chromedriver (no driver download)."""
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait_text(driver: WebDriver, *texts: str, timeout: float = PAGE_S) -> str:
    """The page's visible text once it holds every one of `texts`."""
    from selenium.webdriver.common.by import By

    def body():
        text = driver.find_element(By.TAG_NAME, "body").text
        return text if all(t in text for t in texts) else None

    return wait_for(body, timeout, f"page {driver.current_url} showing {texts}")


def click(driver: WebDriver, xpath: str, timeout: float = PAGE_S) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    condition = expected_conditions.element_to_be_clickable(("xpath", xpath))
    WebDriverWait(driver, timeout).until(condition).click()


def submit_until(driver: WebDriver, xpath: str, done, what: str, timeout: float = 3 * PAGE_S):
    """Click a form's submit button until `done()` holds, and return what it returned.

    Prefect's server on SQLite can refuse a submission with "database is locked" when another
    write lands inside the request's transaction (seen with SQLAlchemy 2.1: the UI shows "Oops.
    Something went wrong." and keeps the form). A person submits again, so the test does too,
    only while the button is still shown, so a submission that went through is not repeated.
    A timeout says what the page showed."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    clicks = 0
    while time.monotonic() < deadline:
        try:
            shown = [b for b in driver.find_elements("xpath", xpath) if b.is_displayed()]
            if shown and shown[0].is_enabled():
                shown[0].click()
                clicks += 1
        except WebDriverException:  # the page moved on between finding and clicking
            pass
        try:
            return wait_for(done, min(RECLICK_S, max(deadline - time.monotonic(), 1)), what)
        except TimeoutError:
            continue
    page = driver.find_element("tag name", "body").text
    raise TimeoutError(
        f"{what}: not within {timeout:.0f} s of {clicks} clicks; the page shows: {page[-2000:]}"
    )


def deployment(server: Server, name: str):
    return server.api(lambda c: c.read_deployment_by_name(name))


def runs_of(server: Server, deployment_id) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    flt = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    return server.api(lambda c: c.read_flow_runs(deployment_filter=flt))


def test_deployments_page_lists_every_deployment(served, server, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/deployments")
    wait_text(browser, "4 Deployments", "retraining", "predict", "daily", "review")
    links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")}
    for name in ("train/retraining", "predict/predict", "review/review"):
        assert f"{server.url}/deployments/deployment/{deployment(server, name).id}" in links


def test_predict_run_from_the_form_shows_its_table(served, server, browser):
    from selenium.webdriver.common.by import By

    predict = deployment(server, "predict/predict")
    before = {r.id for r in runs_of(server, predict.id)}
    browser.get(f"{server.url}/deployments/deployment/{predict.id}/run")
    wait_text(browser, "inputs", "top_k", "Submit")
    # The `inputs` list parameter: add one item and type the path into it.
    click(browser, "//button[normalize-space()='Add item']")
    field = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".p-draggable-list textarea"),
        PAGE_S,
        "an inputs item",
    )
    field[-1].send_keys("samples/seven.png")

    def new_runs():
        return [r for r in runs_of(server, predict.id) if r.id not in before]

    submit_until(
        browser,
        "//button[normalize-space()='Submit']",
        lambda: "/run" not in browser.current_url or new_runs(),
        "the run form submitting",
    )

    def new_run():
        runs = new_runs()
        return runs[0] if runs and runs[0].state.is_final() else None

    run = wait_for(new_run, 300, "the run started from the form finishing", 2)
    assert run.parameters["inputs"] == ["samples/seven.png"]  # the form adds the defaults
    assert run.state.type.value == "COMPLETED", run.state

    # The run's Artifacts tab lists the table; its page renders the rows.
    browser.get(f"{server.url}/runs/flow-run/{run.id}")
    click(browser, "//li[contains(@class, 'p-tab')][normalize-space()='Artifacts']")
    wait_text(browser, "predictions", "1 predicted, 0 failed")
    artifact_links = wait_for(
        lambda: [
            a
            for a in browser.find_elements(By.CSS_SELECTOR, "a[href*='/artifacts/artifact/']")
            if a.is_displayed()
        ],
        PAGE_S,
        "a link to the predictions artifact",
    )
    artifact_links[0].click()
    text = wait_text(browser, "samples/seven.png", "7 (seven)")
    assert "input read confidence" in text
    assert browser.find_elements(By.CSS_SELECTOR, "table")


def test_train_report_shows_its_figures(served, server, browser, small_kaggle_dir):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    result, run_id = served.run_deployment(
        "train/retraining", f"data_dir={small_kaggle_dir}", "epochs=1", timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    artifacts = server.api(lambda c: c.read_artifacts(artifact_filter=flt))
    (report,) = [a for a in artifacts if a.key == "train-report"]
    embedded = report.data.count("data:image/png;base64,")
    assert embedded >= 8  # data, training, evaluation figures

    browser.get(f"{server.url}/artifacts/artifact/{report.id}")
    wait_text(browser, "train-report", "Classification report")

    def loaded_images():
        images = browser.execute_script(
            "return Array.from(document.images).filter(i => i.src.startsWith('data:image/png'))"
            ".map(i => [i.complete, i.naturalWidth]);"
        )
        return images if len(images) >= embedded and all(c for c, _ in images) else None

    images = wait_for(loaded_images, PAGE_S, "the report's figures loading")
    widths = browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth);")
    assert all(w > 0 for w in widths), widths
    assert all(w > 0 for _, w in images)
