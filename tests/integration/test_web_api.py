"""The draw-a-digit app's JSON API under a real uvicorn on a free loopback port, predicting with
a trained model (LiteRT) registered as champion in a temporary DIGITREC_HOME."""

from __future__ import annotations

import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.prefect_servers import free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

XSS = "<script>alert('x')</script>"
XSS_NAME = "<img src=x onerror=alert(1)><script>alert(2).png"  # no "/": a file name keeps it all
STATIC = Path(__file__).resolve().parents[2] / "app" / "web" / "static"


@contextmanager
def running_app(**env: str) -> Iterator[str]:
    """create_app() under uvicorn in a thread (env set while the app is built); its base URL."""
    import uvicorn

    from app.web import create_app

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app = create_app()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 60, "uvicorn starting", 0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def champion_home(tmp_path_factory, strong_model_path) -> Iterator[Path]:
    """A fresh DIGITREC_HOME, for this module, whose champion is the trained test model."""
    from digitrec.registry import ModelRecord, register

    home = tmp_path_factory.mktemp("web") / "home"
    previous = os.environ["DIGITREC_HOME"]
    os.environ["DIGITREC_HOME"] = str(home)
    record = ModelRecord(run_id="t", model_path=str(strong_model_path))
    register(replace(record, val_accuracy=0.99, hidden_test_accuracy=0.99), promote=True)
    try:
        yield home
    finally:
        os.environ["DIGITREC_HOME"] = previous


@pytest.fixture(scope="module")
def base(champion_home) -> Iterator[str]:
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def client(base) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=60) as client:
        yield client


def drawing(digits: list[np.ndarray], gap: int = 60) -> bytes:
    """MNIST digits (28x28, white on black) as dark ink on a white pad, side by side, as PNG."""
    big = [cv2.resize(255 - d, (168, 168), interpolation=cv2.INTER_LINEAR) for d in digits]
    width = sum(b.shape[1] for b in big) + gap * (len(big) + 1)
    pad = np.full((280, max(width, 560)), 255, np.uint8)
    x = gap
    for b in big:
        pad[56:224, x : x + 168] = b
        x += 168 + gap
    return cv2.imencode(".png", pad)[1].tobytes()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def page_token(client: httpx.Client) -> str:
    """Load the page: the CSRF cookie lands in the client, the token is in the page's meta."""
    page = client.get("/")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]


def predict(client: httpx.Client, png: bytes) -> httpx.Response:
    return client.post("/api/predict", content=png, headers={"Content-Type": "image/png"})


def test_a_drawn_digit_is_read_with_its_image_and_timing(client, mnist_arrays):
    images, labels = mnist_arrays
    response = predict(client, drawing([images[60_000]]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prediction"]["digit"] == labels[60_000]
    assert body["prediction"]["input"] == "canvas.png" and body["model"] == "t"
    (piece,) = body["pieces"]
    assert piece["image"].startswith("data:image/png;base64,") and len(piece["top_k"]) == 3
    assert re.fullmatch(r"predict;dur=[0-9.]+", response.headers["server-timing"])
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_a_written_number_is_read_digit_by_digit(client, mnist_arrays):
    images, labels = mnist_arrays
    body = predict(client, drawing(list(images[60_001:60_004]))).json()
    assert body["prediction"]["digits"] == "".join(str(d) for d in labels[60_001:60_004])
    assert [p["digit"] for p in body["pieces"]] == list(labels[60_001:60_004])
    assert all(len(p["top_k"]) == 3 for p in body["pieces"])


def test_an_uploaded_photo_keeps_its_name_as_text(client, mnist_arrays):
    images, labels = mnist_arrays
    name = XSS_NAME
    files = {"file": (name, drawing([images[60_005]]), "image/png")}
    response = client.post("/api/predict", files=files)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["prediction"]["input"] == name
    assert response.json()["prediction"]["digit"] == labels[60_005]
    folders = {"file": ("../../etc/passwd.png", drawing([images[60_005]]), "image/png")}
    response = client.post("/api/predict", files=folders)
    assert response.json()["prediction"]["input"] == "passwd.png"  # a label, never a path


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"hello, not a picture", 415, "not an image"),
        (b"/etc/passwd", 415, "not an image"),
        ("truncated", 400, "truncated"),
        (png_header(100_000, 100_000), 413, "refused without decoding"),
        (png_header(7_000, 7_000), 413, "megapixel limit"),
        (cv2.imencode(".png", np.full((280, 560), 255, np.uint8))[1].tobytes(), 422, "blank"),
        (b"", 400, "empty"),
    ],
)
def test_bad_inputs_get_a_4xx_with_the_reason(client, mnist_arrays, body, status, reason):
    if body == "truncated":
        whole = drawing([mnist_arrays[0][60_000]])
        body = whole[: len(whole) // 2]
    response = predict(client, body)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]


def test_a_body_over_the_limit_is_refused(client):
    from app.web.inputs import MAX_BODY_BYTES

    response = predict(client, b"\0" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_feedback_needs_the_csrf_token(client, base):
    prediction_id = predict(client, drawing([np.eye(28, dtype=np.uint8) * 255])).json()["id"]
    payload = {"prediction_id": prediction_id, "label": "1"}
    with httpx.Client(base_url=base) as stranger:  # no cookie, no token: a cross-site post
        refused = stranger.post("/api/feedback", json=payload)
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
        page_token(stranger)  # the cookie alone is not enough
        assert stranger.post("/api/feedback", json=payload).status_code == 403
        wrong = stranger.post("/api/feedback", json=payload, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403


def test_feedback_writes_a_row_and_reviewer_text_stays_text(client, mnist_arrays):
    from digitrec.loop import feedback

    images, _ = mnist_arrays
    token = page_token(client)
    body = predict(client, drawing([images[60_010]])).json()
    payload = {"prediction_id": body["id"], "label": "not a digit", "reviewer": XSS}
    response = client.post("/api/feedback", json=payload, headers={"X-CSRF-Token": token})
    assert response.status_code == 201, response.text
    assert response.json()["reviewer"] == XSS[:64] and response.json()["added"]
    (row,) = [r for r in feedback.read() if r.prediction_id == body["id"]]
    assert (row.label, row.source, row.reviewer) == ("not a digit", "app", XSS[:64])
    assert row.predicted == str(body["prediction"]["digit"])
    bad = {**payload, "label": "<b>7</b>"}
    assert (
        client.post("/api/feedback", json=bad, headers={"X-CSRF-Token": token}).status_code == 400
    )
    expired = {**payload, "prediction_id": "nope"}
    assert (
        client.post("/api/feedback", json=expired, headers={"X-CSRF-Token": token}).status_code
        == 404
    )


def test_a_corrected_number_becomes_one_labelled_digit_each(client, mnist_arrays):
    from digitrec.loop import feedback

    images, labels = mnist_arrays
    headers = {"X-CSRF-Token": page_token(client)}
    body = predict(client, drawing([images[60_030], images[60_031], images[60_032]])).json()
    assert len(body["pieces"]) == 3
    right = "".join(str(int(d)) for d in labels[60_030:60_033])
    short = {"prediction_id": body["id"], "number": right[:2]}
    refused = client.post("/api/feedback", json=short, headers=headers)
    assert refused.status_code == 400 and "read 3 digit(s)" in refused.json()["error"]
    payload = {"prediction_id": body["id"], "number": right, "reviewer": "tester"}
    response = client.post("/api/feedback", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["label"] == right and response.json()["added"] == 3
    rows = [r for r in feedback.read() if r.prediction_id == body["id"]]
    assert "".join(r.label for r in rows) == right
    assert [r.predicted for r in rows] == [str(p["digit"]) for p in body["pieces"]]
    again = client.post("/api/feedback", json=payload, headers=headers)
    assert again.status_code == 201 and again.json()["added"] == 0  # stored once
    letters = {**payload, "number": "12a"}
    assert client.post("/api/feedback", json=letters, headers=headers).status_code == 400


def test_recent_lists_the_logged_predictions_newest_first(client, mnist_arrays):
    images, _ = mnist_arrays
    ids = [predict(client, drawing([images[60_020 + i]])).json()["id"] for i in range(2)]
    recent = client.get("/api/recent", params={"n": 5}).json()["predictions"]
    assert [r["id"] for r in recent[:2]] == ids[::-1]
    assert all(r["source"] == "app" and r["model"] == "t" for r in recent)


def test_champion_identity_and_reload_after_a_promotion(client, strong_model_path):
    from digitrec.registry import ModelRecord, register

    champion = client.get("/api/champion").json()
    assert champion["run_id"] == "t" and champion["val_accuracy"] == 0.99
    assert "model_path" not in champion  # no filesystem paths leave the server
    assert client.get("/healthz").json() == {"status": "ok", "champion": "t"}
    time.sleep(0.05)  # a new mtime for the registry
    link = "http://127.0.0.1:4200/runs/flow-run/0c0ffee"
    record = ModelRecord(run_id="t2", model_path=str(strong_model_path), val_accuracy=0.995)
    register(replace(record, prefect_flow_run_url=link), True)
    seen = wait_for(lambda: client.get("/api/champion").json()["run_id"] == "t2", 10, "reload")
    assert seen
    # Its identity links back to where it was trained; versions count up.
    promoted = client.get("/api/champion").json()
    assert promoted["prefect_flow_run_url"] == link and promoted["version"] > champion["version"]
    register(ModelRecord(run_id="t", model_path=str(strong_model_path), val_accuracy=0.99), True)
    wait_for(lambda: client.get("/api/champion").json()["run_id"] == "t", 10, "reload back")


def test_basic_auth_when_enabled(champion_home):
    with running_app(DIGITREC_APP_AUTH="ada:a-long-secret") as url:
        assert httpx.get(f"{url}/").status_code == 401
        refused = httpx.get(f"{url}/api/recent", auth=("ada", "wrong"))
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith(
            "Basic"
        )
        assert httpx.post(f"{url}/api/predict", content=b"x").status_code == 401
        assert httpx.get(f"{url}/", auth=("ada", "a-long-secret")).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200  # probes need no secret


def test_the_page_never_inserts_html_and_allows_no_inline_script(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", page.text)  # no inline event handlers
    script = (STATIC / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert client.get("/static/app.js").status_code == 200


def test_page_feedback_tells_the_prefect_server(server, champion_home, mnist_arrays, tmp_path):
    """The page in its own process, as `digitrec app` runs it beside a server: a "that's
    wrong" answer reaches the server as digitrec.feedback.added with source "app"."""
    import subprocess
    import sys

    from prefect.events.filters import EventFilter, EventNameFilter

    from tests.prefect_servers import REPO, stop

    images, _ = mnist_arrays
    port = free_port()
    env = server.client_env(tmp_path / "prefect", DIGITREC_HOME=str(champion_home))
    log = tmp_path / "app.log"
    command = [sys.executable, "-m", "uvicorn", "app.web.server:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=out, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def app_events() -> list:
        found = server.api(
            lambda c: c.read_events(
                filter=EventFilter(event=EventNameFilter(name=["digitrec.feedback.added"])),
                limit=50,
            )
        ).events
        return [e for e in found if e.payload.get("source") == "app"]

    try:
        wait_for(up, 120, "the app answering")
        with httpx.Client(base_url=base, timeout=60) as client:
            token = page_token(client)
            body = predict(client, drawing([images[60_020]])).json()
            payload = {"prediction_id": body["id"], "label": "5", "reviewer": "ana"}
            headers = {"X-CSRF-Token": token}
            assert client.post("/api/feedback", json=payload, headers=headers).status_code == 201
        (event,) = wait_for(app_events, 60, "digitrec.feedback.added from the page", 1)
    finally:
        stop(process)
    assert event.payload["new"] == 1 and event.payload["total"] >= 1
    assert event.resource["prefect.resource.id"] == "digitrec.feedback"
