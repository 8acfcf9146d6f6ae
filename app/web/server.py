"""The draw-a-digit app: one static page and a small JSON API over the champion, in-process.

`create_app()` builds it; `digitrec app` serves it with uvicorn on 127.0.0.1:8000."""

from __future__ import annotations

import asyncio
import base64
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import cv2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from app.web import loop
from app.web.inputs import InputError, decode, read_body, upload
from app.web.model import Champion, Reading
from app.web.security import Guard, auth_from_env, csrf_ok, csrf_token, set_csrf_cookie
from digitrec.inference.files import ImageError, encode_png

STATIC = Path(__file__).resolve().parent / "static"
MAX_JSON_BYTES = 64 * 1024
KEPT_READINGS = 512  # recent readings kept in memory, so feedback never sends an image back
RECENT_MAX = 100
# Drawings are read first come, first served by two threads (OpenCV and LiteRT release the GIL;
# more threads would only share the two cores and the lock, so every request would finish late).
READERS = 2
CHAMPION_FIELDS = (
    "run_id",
    "version",
    "val_accuracy",
    "hidden_test_accuracy",
    "profile",
    "architecture",
    "mlflow_run_id",
    "prefect_flow_run_url",
)


def create_app(model: str = "champion") -> FastAPI:
    """The app serving `model` ('champion' follows promotions; a run id or .keras path pins)."""
    cv2.setNumThreads(1)  # requests run side by side; OpenCV's own threads would only fight them
    readers = ThreadPoolExecutor(READERS, thread_name_prefix="reader")
    announcer = ThreadPoolExecutor(1, thread_name_prefix="events")  # feedback events, in order
    writer = loop.LogWriter()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        readers.shutdown()
        writer.flush()  # nothing served goes unlogged at shutdown
        announcer.shutdown(wait=True)  # each waits for delivery at most tasks.events.FLUSH_S

    app = FastAPI(
        title="digitrec", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.add_middleware(Guard, credentials=auth_from_env())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    champion = Champion(model)
    readings: OrderedDict[str, Reading] = OrderedDict()
    page = (STATIC / "index.html").read_text()

    @app.exception_handler(InputError)
    async def refused(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, error.status)

    @app.exception_handler(FileNotFoundError)
    async def no_model(request: Request, error: FileNotFoundError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, 503)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        token = csrf_token(request)
        response = HTMLResponse(page.replace("{{csrf_token}}", token))
        set_csrf_cookie(response, token)
        return response

    @app.get("/healthz")
    def healthz() -> dict:
        try:
            return {"status": "ok", "champion": champion.current().run_id}
        except FileNotFoundError:
            return {"status": "ok", "champion": None}

    @app.get("/api/champion")
    def champion_info() -> dict:
        loaded = champion.current()
        info = {key: getattr(loaded.record, key) for key in CHAMPION_FIELDS}
        return {**info, "gate": loaded.gate is not None}

    @app.post("/api/predict")
    async def predict(request: Request) -> JSONResponse:
        start = time.perf_counter()
        name, data = upload(request.headers.get("content-type", ""), await read_body(request))
        reading, prediction_id = await asyncio.get_running_loop().run_in_executor(
            readers, read_and_log, champion, data, name, writer
        )
        readings[prediction_id] = reading
        while len(readings) > KEPT_READINGS:
            readings.popitem(last=False)
        body = reading_json(prediction_id, reading)
        elapsed_ms = (time.perf_counter() - start) * 1000
        return JSONResponse(body, headers={"Server-Timing": f"predict;dur={elapsed_ms:.2f}"})

    @app.post("/api/feedback")
    async def feedback(request: Request) -> JSONResponse:
        if not csrf_ok(request):
            return JSONResponse({"error": "CSRF token missing or wrong: reload the page"}, 403)
        fields = loop.feedback_fields(await read_body(request, MAX_JSON_BYTES))
        reading = readings.get(fields.prediction_id)
        if reading is None:
            raise InputError(404, "unknown or expired prediction id: predict again")
        row = await run_in_threadpool(loop.add_feedback, reading, fields)
        if row["added"]:
            announcer.submit(loop.announce, row["added"])
        return JSONResponse(row, 201)

    @app.get("/api/recent")
    def recent(n: int = 20) -> dict:
        return {"predictions": loop.recent(max(1, min(n, RECENT_MAX)), writer)}

    return app


def read_and_log(
    champion: Champion, data: bytes, name: str, writer: loop.LogWriter
) -> tuple[Reading, str]:
    """Decode, predict and log (one worker-thread hop); a blank or unreadable drawing is the
    client's error (4xx)."""
    gray = decode(data, name)  # (H, W)
    try:
        reading = champion.read(gray, name)
    except ImageError as error:
        raise InputError(422 if "blank" in str(error) else 400, str(error)) from error
    return reading, loop.log_reading(reading, writer)


def reading_json(prediction_id: str, reading: Reading) -> dict:
    """What the page shows: the answer, each 28x28 image the model saw with its top-k."""
    gate = reading.model.gate
    pieces = [
        {
            "image": "data:image/png;base64," + base64.b64encode(encode_png(image)).decode(),
            "digit": piece.digit,
            "confidence": piece.confidence,
            "top_k": piece.top_k,
            "gate_score": None if reading.scores is None else reading.scores[i],
        }
        for i, (image, piece) in enumerate(zip(reading.images, reading.pieces, strict=True))
    ]
    return {
        "id": prediction_id,
        "prediction": reading.prediction.to_dict(),
        "pieces": pieces,
        "threshold": None if gate is None else gate.threshold,
        "model": reading.model.run_id,
    }
