"""The review flow served by deployments/serve.py against a real `prefect server start`: the run
pauses with its form, is resumed through the API as the UI's Resume form does (and, in headless
Chromium, through that form), stores the labels, publishes its table and emits
digitrec.feedback.added; `digitrec label` sends the same event from outside any flow run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitrec.loop import events, feedback, review
from digitrec.loop.feedback import NOT_A_DIGIT
from tests.integration.test_ui import PAGE_S, chromium, click, submit_until, wait_text
from tests.loop_records import digit_image, logged, write_log
from tests.prefect_servers import (
    REPO,
    Served,
    Server,
    artifacts_of,
    flow_run,
    table_rows,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PAUSE_S = 180  # serve.py polls every 0.25 s; a run starts in 0.4 s quiet, ~30 s on busy cores


@pytest.fixture(scope="module")
def review_served(server, tmp_path_factory) -> Iterator[Served]:
    """serve.py against `server`; the review flow needs no champion, so none is trained."""
    home = tmp_path_factory.mktemp("review-served") / "home"
    served = Served(server, home, tmp_path_factory.mktemp("review-serve-prefect"))
    try:
        yield served.start()
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture
def home(review_served, monkeypatch) -> Path:
    """This process reads and writes the served DIGITREC_HOME (log, feedback store)."""
    monkeypatch.setenv("DIGITREC_HOME", str(review_served.digitrec_home))
    return review_served.digitrec_home


def start_review(served: Served, *params: str) -> str:
    """`prefect deployment run review/review` (no --watch: the run will wait for a person)."""
    args = [a for p in params for a in ("--param", p)]
    result = served.prefect("deployment", "run", "review/review", *args, timeout=120)
    found = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout)
    assert found, result.stdout + result.stderr
    return found.group(1)


def wait_state(server: Server, run_id: str, *states: str, timeout: float = PAUSE_S):
    def reached():
        run = flow_run(server, run_id)
        if run.state.type.value in ("FAILED", "CRASHED") and "FAILED" not in states:
            raise AssertionError(f"run {run_id} ended {run.state}")
        return run if run.state.type.value in states else None

    return wait_for(reached, timeout, f"run {run_id} reaching {states}", 1)


def feedback_events(server: Server) -> list:
    from prefect.events.filters import EventFilter, EventNameFilter

    flt = EventFilter(event=EventNameFilter(name=[events.EVENT]))
    return server.api(lambda c: c.read_events(filter=flt, limit=50)).events


def event_of_run(server: Server, run_id: str):
    """The feedback event whose related resources name the flow run that emitted it."""

    def found():
        for event in feedback_events(server):
            if any(r.id == f"prefect.flow-run.{run_id}" for r in event.related):
                return event
        return None

    return wait_for(found, 60, f"a {events.EVENT} event from run {run_id}", 1)


def test_review_pauses_resumes_through_the_api_and_stores_labels(review_served, server, home):
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    write_log(logged(1, 0.2), logged(2, 0.3), logged(3, 0.4), logged(4, 0.95))
    run_id = start_review(review_served, "n=3", "reviewer=ana", "timeout_s=600")
    paused = wait_state(server, run_id, "PAUSED")
    keyset = paused.state.state_details.run_input_keyset
    description = json.loads(
        server.api(lambda c: c.read_flow_run_input(run_id, keyset["description"]))
    )
    assert description.count("](data:image/png;base64,") == 3
    schema = json.loads(server.api(lambda c: c.read_flow_run_input(run_id, keyset["schema"])))
    assert list(schema["properties"]) == ["image_01", "image_02", "image_03"]
    assert schema["properties"]["image_01"]["title"] == "01. p1.png: guess 1 (20.0%)"
    assert schema["properties"]["image_01"]["default"] == "skip"

    answers = {"image_01": "7", "image_02": NOT_A_DIGIT, "image_03": "skip"}
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        resume_flow_run(run_id, run_input=answers)  # what the UI's Resume form posts
    assert wait_state(server, run_id, "COMPLETED").state.is_completed()

    rows = feedback.read()
    assert [(r.label, r.predicted, r.source, r.reviewer) for r in rows] == [
        ("7", "1", "review", "ana"),
        (NOT_A_DIGIT, "2", "review", "ana"),
    ]
    assert rows[0].fingerprint == feedback.fingerprint(digit_image(100))
    assert [item.input for item in review.pick()] == ["p4.png"]  # p3 was skipped

    (table,) = [a for a in artifacts_of(server, run_id) if a.key == "review-labels"]
    assert [(r["input"], r["answer"], r["outcome"]) for r in table_rows(table)] == [
        ("p1.png", "7", "stored"),
        ("p2.png", NOT_A_DIGIT, "stored"),
        ("p3.png", "skip", "skipped"),
    ]
    event = event_of_run(server, run_id)
    assert event.resource.id == "digitrec.feedback"
    assert event.resource["prefect.resource.name"] == "feedback store"
    assert event.resource["digitrec.retrain-due"] == "false"
    assert event.payload == {
        "new": 2,
        "total": 2,
        "since_champion": 2,  # no champion: every row counts
        "threshold": 100,
        "source": "review",
    }


def test_nothing_to_review_completes_without_pausing(review_served, server, home):
    left = review.pick()  # whatever earlier tests left: skip it
    review.save(left, {item.key: "skip" for item in left}, "cli", "setup")
    assert review.pick() == []
    result, run_id = review_served.run_deployment("review/review", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    states = server.api(lambda c: c.read_flow_run_states(run_id))
    assert "PAUSED" not in {s.type.value for s in states}
    assert flow_run(server, run_id).state.is_completed()


def test_label_from_the_cli_sends_the_event_to_the_server(review_served, server, home):
    write_log(logged(21, 0.01))
    before = {e.id for e in feedback_events(server)}
    env = server.client_env(
        review_served.prefect_home, DIGITREC_HOME=str(home), DIGITREC_RETRAIN_AFTER_LABELS="1"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "label", "--n", "1", "--reviewer", "cy"],
        input="5\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    seconds = time.monotonic() - started
    print(f"digitrec label with a server: {seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digitrec.feedback.added: sent" in result.stdout
    assert seconds < 30

    def new_event():
        fresh = [e for e in feedback_events(server) if e.id not in before]
        return fresh[0] if fresh else None

    event = wait_for(new_event, 60, "the CLI's event on the server", 1)
    total = len(feedback.read())
    assert event.payload == {
        "new": 1,
        "total": total,
        "since_champion": total,
        "threshold": 1,
        "source": "cli",
    }
    assert event.resource["digitrec.retrain-due"] == "true"


def test_the_resume_form_in_the_ui_shows_the_images_and_resumes_the_run(
    review_served, server, home, browser, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sneaky = "<b>bold</b>_x_[a](b).png"
    write_log(logged(31, 0.05, name=sneaky), logged(32, 0.06, digits=2))
    run_id = start_review(review_served, "n=2", "reviewer=dee", "timeout_s=600")
    wait_state(server, run_id, "PAUSED")
    browser.get(f"{server.url}/runs/flow-run/{run_id}")
    try:
        click(browser, "//button[normalize-space()='Resume']")
        wait_text(browser, "Label each image", "01. " + sneaky + ": guess 1 (5.0%)")

        def loaded_images():
            images = browser.execute_script(
                "return Array.from(document.images)"
                ".filter(i => i.src.startsWith('data:image/png'))"
                ".map(i => [i.complete, i.naturalWidth]);"
            )
            return images if len(images) == 3 and all(c for c, _ in images) else None

        images = wait_for(loaded_images, PAGE_S, "the form's three images loading")
        assert [width for _, width in images] == [112, 112, 112]
        assert not browser.find_elements(By.XPATH, "//b[normalize-space()='bold']")
        # The form's selects are those offering "not a digit"; the page has other selects.
        selects = [
            Select(s) for s in browser.find_elements(By.TAG_NAME, "select") if NOT_A_DIGIT in s.text
        ]
        assert len(selects) == 3
        assert [s.first_selected_option.text for s in selects] == ["skip"] * 3
        for select, answer in zip(selects, ["8", "4", NOT_A_DIGIT], strict=True):
            select.select_by_visible_text(answer)
        submit_until(
            browser,
            "//button[normalize-space()='Submit']",
            lambda: flow_run(server, run_id).state.type.value != "PAUSED",
            f"run {run_id} resuming from the form",
        )
        wait_state(server, run_id, "COMPLETED")
    except Exception:
        browser.save_screenshot(str(tmp_path / "resume.png"))
        (tmp_path / "resume.html").write_text(browser.page_source)
        print(f"screenshot and page in {tmp_path}")
        raise
    rows = [r for r in feedback.read() if r.reviewer == "dee"]
    assert [(r.label, r.predicted, r.prediction_id) for r in rows] == [
        ("8", "1", f"{31:032x}"),
        ("4", "2", f"{32:032x}"),
        (NOT_A_DIGIT, "3", f"{32:032x}"),
    ]


def test_an_unanswered_review_fails_after_its_timeout_and_stores_nothing(
    review_served, server, home
):
    write_log(logged(41, 0.01))
    stored = len(feedback.read())
    run_id = start_review(review_served, "n=1", "timeout_s=10")
    run = wait_state(server, run_id, "FAILED", timeout=PAUSE_S)
    assert "never resumed" in run.state.message  # the server fails a pause that expires
    assert len(feedback.read()) == stored
    assert [item.prediction_id for item in review.pick()] == [f"{41:032x}"]  # offered again
