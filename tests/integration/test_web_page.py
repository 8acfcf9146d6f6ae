"""The draw-a-digit page in real headless Chromium (Debian's, through its chromedriver): real
MNIST test digits traced as pointer strokes on the canvas, a star, an uploaded photo, the
"that's wrong" feedback, the recent list, and a screenshot (copied to docs/app.png when
DIGITREC_UPDATE_DOCS is set)."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.integration.test_ui import CHROMEDRIVER, CHROMIUM, FLAGS, ensure_chromium
from tests.integration.test_web_api import running_app
from tests.prefect_servers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs"
TRACED = (60_000, 60_001, 60_002)  # MNIST test digits 7, 2, 1
UPLOADED = 60_004
NUMBER = (60_003, 60_005, 60_006)
SCALE = 8  # CSS px per MNIST pixel: a 28x28 digit covers 224 px of the 280 px-high pad
PAGE_S = 60
XSS_NAME = "<img src=x onerror=window.pwned=1>.png"


def star(size: int = 200) -> list[tuple[float, float]]:
    """A five-pointed star as one closed stroke, points relative to its centre."""
    angles = np.pi / 2 + np.arange(6) * 4 * np.pi / 5
    return [(size / 2 * np.cos(a), -size / 2 * np.sin(a)) for a in angles]


@pytest.fixture(scope="module")
def gated_model(strong_model_path, mnist_arrays, tmp_path_factory) -> tuple[Path, float, bool]:
    """A copy of the test model with a small "not a digit" gate trained here, its threshold set
    between the traced digits' scores and a drawn star's (the last value says they separate)."""
    from digitrec.arrays import model_input
    from digitrec.inference.preprocess import to_mnist
    from digitrec.inference.rejection import combined_score, gate_settings_path, load_gate
    from digitrec.inference.runtimes import load_predictor
    from digitrec.modeling.rejection import gate_scores, train_gate
    from digitrec.pipeline.gate_renders import make_nondigits
    from digitrec.pipeline.rejection import export_gate

    folder = tmp_path_factory.mktemp("gated")
    for source in strong_model_path.parent.glob(f"{strong_model_path.stem}.*"):
        shutil.copy2(source, folder / source.name)  # mtimes kept: the LiteRT export stays current
    path = folder / strong_model_path.name
    assert load_gate(path) is None  # the session's model has no gate of its own
    images, _ = mnist_arrays
    model = train_gate(images[:2000], make_nondigits(2000, seed=0), epochs=3)
    export_gate(model, str(path), images[:64])
    pad = np.full((280, 560), 255, np.uint8)
    points = np.int32([(280 + x, 140 + y) for x, y in star()])
    cv2.polylines(pad, [points], False, 0, 18, cv2.LINE_AA)
    digits = images[[*TRACED, UPLOADED, *NUMBER]]
    predictor, _ = load_predictor(path)

    def scores(images: np.ndarray) -> np.ndarray:  # as the app scores: gate plus doubt
        return combined_score(gate_scores(model, images), predictor(model_input(images)).max(1))

    star_score = float(scores(to_mnist(pad)[None])[0])
    digit_score = float(scores(digits).max())
    separated = star_score > digit_score
    # Near the star's score: traced strokes score a little above the raw digits they follow.
    threshold = digit_score + 0.8 * (star_score - digit_score) if separated else digit_score + 1e-3
    gate_settings_path(path).write_text(f'{{"threshold": {threshold}}}')
    return path, threshold, separated


@pytest.fixture(scope="module")
def base(gated_model, tmp_path_factory) -> Iterator[str]:
    """The app on a free port, serving the gated model as champion from a fresh DIGITREC_HOME."""
    from digitrec.registry import ModelRecord, register

    previous = os.environ["DIGITREC_HOME"]
    os.environ["DIGITREC_HOME"] = str(tmp_path_factory.mktemp("page") / "home")
    record = ModelRecord(run_id="page-test", model_path=str(gated_model[0]))
    register(replace(record, val_accuracy=0.991, hidden_test_accuracy=0.989), promote=True)
    try:
        with running_app() as url:
            yield url
    finally:
        os.environ["DIGITREC_HOME"] = previous


@pytest.fixture(scope="module")
def browser(base):
    """Headless Debian Chromium on the page, as tests/integration/test_ui.py drives it (no driver
    download)."""
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, "--window-size=1300,1050"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(base)
        wait_for(lambda: "champion page-test" in text(driver, "champion"), PAGE_S, "champion")
        yield driver
    finally:
        driver.quit()


def text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def clear(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "clear").click()


def strokes_of(image: np.ndarray, left: float, top: float) -> list[list[tuple[float, float]]]:
    """One horizontal stroke per run of ink pixels per row, in page coordinates."""
    strokes = []
    for row in range(image.shape[0]):
        ink = np.flatnonzero(image[row] >= 128)
        for run in np.split(ink, np.flatnonzero(np.diff(ink) > 1) + 1) if ink.size else []:
            y = top + (row + 0.5) * SCALE
            strokes.append(
                [(left + (run[0] + 0.5) * SCALE, y), (left + (run[-1] + 0.5) * SCALE, y)]
            )
    return strokes


def draw(driver, strokes: list[list[tuple[float, float]]], kind: str = "mouse") -> None:
    """Pointer strokes (W3C actions of a mouse, pen or touch) over the canvas."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    kinds = {"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN}
    kinds["touch"] = interaction.POINTER_TOUCH
    builder = ActionBuilder(driver, mouse=PointerInput(kinds[kind], kind), duration=10)
    for stroke in strokes:
        builder.pointer_action.move_to_location(int(stroke[0][0]), int(stroke[0][1]))
        builder.pointer_action.pointer_down()
        for x, y in stroke[1:]:
            builder.pointer_action.move_to_location(int(x), int(y))
        builder.pointer_action.pointer_up()
    builder.perform()


def pad_box(driver) -> dict:
    return driver.execute_script("return document.getElementById('pad').getBoundingClientRect();")


def answer(driver) -> tuple[str, str]:
    """(answer, reason) once the page has read the latest drawing or upload."""
    from selenium.webdriver.common.by import By

    body = driver.find_element(By.TAG_NAME, "body")
    state = wait_for(
        lambda: body.get_attribute("data-state") in ("done", "error") and body, PAGE_S, "answer"
    )
    assert state.get_attribute("data-state") == "done", text(driver, "reason")
    return text(driver, "answer"), text(driver, "reason")


def shown_images(driver) -> list[np.ndarray]:
    """The 28x28 images the page shows as what the model saw."""
    sources = driver.execute_script(
        "return [...document.querySelectorAll('#pieces img')].map(i => i.src);"
    )
    return [
        cv2.imdecode(np.frombuffer(base64.b64decode(s.split(",", 1)[1]), np.uint8), 0)
        for s in sources
    ]


@pytest.mark.parametrize(("index", "kind"), zip(TRACED, ("mouse", "pen", "touch"), strict=True))
def test_traced_mnist_digits_are_read(browser, mnist_arrays, index, kind):
    images, labels = mnist_arrays
    clear(browser)
    box = pad_box(browser)
    left = box["left"] + box["width"] / 2 - 14 * SCALE
    draw(browser, strokes_of(images[index], left, box["top"] + 28), kind)
    said, reason = answer(browser)
    assert said.startswith(f"{labels[index]} ("), (said, reason)
    assert len(shown_images(browser)) == 1 and "not a digit" not in said


def test_a_traced_number_is_read_digit_by_digit(browser, mnist_arrays):
    images, labels = mnist_arrays
    clear(browser)
    box = pad_box(browser)
    strokes = []
    for i, index in enumerate(NUMBER):
        left = box["left"] + 8 + i * 26 * SCALE * box["width"] / 560 * 0.85
        strokes += strokes_of(images[index], left, box["top"] + 28)
    draw(browser, strokes)
    said, _ = answer(browser)
    assert said.startswith("".join(str(labels[i]) for i in NUMBER)), said
    assert len(shown_images(browser)) == 3


def test_a_star_gets_the_gates_verdict(browser, gated_model):
    from digitrec.arrays import model_input
    from digitrec.inference.rejection import load_gate, verdict
    from digitrec.inference.runtimes import load_predictor

    path, threshold, separated = gated_model
    clear(browser)
    box = pad_box(browser)
    centre = (box["left"] + box["width"] / 2, box["top"] + box["height"] / 2)
    draw(browser, [[(centre[0] + x, centre[1] + y) for x, y in star()]])
    said, reason = answer(browser)
    seen = np.stack(shown_images(browser))
    confidence = load_predictor(path)[0](model_input(seen)).max(1)
    scores, _ = load_gate(path).rejects(seen, confidence)
    rejected, expected = verdict(scores, threshold, is_row=False)
    assert (said == "not a digit") == rejected and (expected or "") in reason
    assert separated, "the small gate scored a traced digit above the star"
    assert said == "not a digit" and reason.startswith("not a digit: the image")


def test_an_uploaded_photo_then_thats_wrong_writes_feedback(browser, mnist_arrays, tmp_path):
    from selenium.webdriver.common.by import By

    from digitrec.loop import feedback

    images, labels = mnist_arrays
    photo = np.full((300, 260), 235, np.uint8)
    photo[50:250, 30:230] = 235 - cv2.resize(images[UPLOADED], (200, 200)) * 0.8
    path = tmp_path / XSS_NAME
    assert cv2.imwrite(str(path.with_suffix(".tmp.png")), photo)
    path.with_suffix(".tmp.png").rename(path)
    browser.find_element(By.ID, "file").send_keys(str(path))
    said, _ = answer(browser)
    assert said.startswith(f"{labels[UPLOADED]} ("), said
    wrong = (int(labels[UPLOADED]) + 1) % 10
    browser.find_element(By.ID, "reviewer").send_keys("<b>tester</b>")
    browser.find_element(By.CSS_SELECTOR, f'#labels button[data-label="{wrong}"]').click()
    wait_for(lambda: "Thanks" in text(browser, "feedback-status"), PAGE_S, "feedback saved")
    (row,) = [r for r in feedback.read() if r.reviewer == "<b>tester</b>"]
    assert (row.label, row.predicted, row.source) == (str(wrong), str(labels[UPLOADED]), "app")
    # The file name went back into the page (recent list) as text: no element, no script ran.
    wait_for(lambda: XSS_NAME in text(browser, "recent"), PAGE_S, "the upload in the recent list")
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert browser.execute_script("return window.pwned === undefined")
    shot = tmp_path / "app.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("DIGITREC_UPDATE_DOCS"):  # the README's screenshot, on request only:
        shutil.copyfile(shot, DOCS / "app.png")  # a test run leaves the checkout as it was


def test_recent_predictions_show_on_the_page(browser):
    rows = text(browser, "recent").splitlines()
    assert len(rows) >= 6 and all("app" in row for row in rows[1:])
