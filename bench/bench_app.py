"""Server-side latency of the draw-a-digit app: per-drawing time (the `Server-Timing` header)
under concurrent clients, against a real uvicorn on a free loopback port.

    .venv/bin/python bench/bench_app.py [--model path/to/model.keras] [--requests 400]

Without --model it serves the champion of $DIGITREC_HOME, else a quick model it trains once on
5,000 MNIST images (cached under $DIGITREC_HOME/cache/bench_app/). The app runs in its own
DIGITREC_HOME, so the benchmark's predictions never reach the real prediction log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CANVAS = (140, 280)  # (H, W) of the PNG the page sends: its 560x280 pad at half size
DRAWINGS = 64
WARMUP = 20
TIMING = re.compile(r"dur=([0-9.]+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quick_model() -> Path:
    """A compact CNN with its LiteRT export, trained once on 5,000 MNIST images (~1 min)."""
    from digitrec.data.embedded import load_mnist_arrays
    from digitrec.inference.runtimes import RUNTIMES, export_runtime
    from digitrec.modeling.training import TrainConfig, fit
    from digitrec.storage import cache_dir, write_with

    path = cache_dir() / "bench_app" / "model.keras"
    if path.with_suffix(".tflite").is_file():
        return path
    images, labels = load_mnist_arrays()
    config = TrainConfig("compact", epochs=2, batch_size=128, augmentation=None, seed=0)
    result = fit(config, (images[:5000], labels[:5000]))
    write_with(path, result.model.save)
    export_runtime(RUNTIMES["litert"], result.model, path, images[60_000:60_512])
    return path


def pick_model(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    from digitrec.registry import resolve_model

    try:
        return resolve_model("champion").resolve()
    except FileNotFoundError:
        return quick_model()


def drawings(count: int) -> list[tuple[int, bytes]]:
    """(label, PNG) pairs: MNIST test digits as dark ink on a white pad, as the canvas sends."""
    from digitrec.data.embedded import load_mnist_arrays

    images, labels = load_mnist_arrays()
    out = []
    for image, label in zip(images[60_000 : 60_000 + count], labels[60_000:], strict=False):
        pad = np.full(CANVAS, 255, np.uint8)
        big = cv2.resize(255 - image, (112, 112), interpolation=cv2.INTER_LINEAR)
        top, left = (CANVAS[0] - 112) // 2, (CANVAS[1] - 112) // 2
        pad[top : top + 112, left : left + 112] = big
        out.append((int(label), cv2.imencode(".png", pad)[1].tobytes()))
    return out


def start_app(model: Path, home: Path, port: int) -> subprocess.Popen:
    from digitrec.registry import ModelRecord, register

    os.environ["DIGITREC_HOME"] = str(home)
    register(ModelRecord(run_id="bench", model_path=str(model)), promote=True)
    command = [sys.executable, "-m", "uvicorn", "app.web.server:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, "DIGITREC_HOME": str(home)})


def wait_up(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if json.loads(connection.getresponse().read()).get("champion"):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the app on port {port} did not answer within {timeout:.0f} s")


def client(port: int, jobs: list[tuple[int, bytes]], results: list) -> None:
    """Post each drawing on one keep-alive connection; record (server ms, round trip ms, right)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for label, png in jobs:
        start = time.perf_counter()
        connection.request("POST", "/api/predict", png, {"Content-Type": "image/png"})
        response = connection.getresponse()
        body = json.loads(response.read())
        trip = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body}")
        server = float(TIMING.search(response.getheader("Server-Timing"))[1])
        results.append((server, trip, body["prediction"]["digit"] == label))


def run(port: int, samples: list[tuple[int, bytes]], requests: int, clients: int) -> list:
    jobs = [samples[i % len(samples)] for i in range(requests)]
    results: list = []
    threads = [
        threading.Thread(target=client, args=(port, jobs[i::clients], results))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras model with its LiteRT export")
    parser.add_argument("--requests", type=int, default=400, help="drawings to send in all")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    args = parser.parse_args()
    model, samples = pick_model(args.model), drawings(DRAWINGS)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-app-") as home:
        process = start_app(model, Path(home), port)
        try:
            wait_up(port)
            run(port, samples, WARMUP, 1)
            started = time.perf_counter()
            results = run(port, samples, args.requests, args.clients)
            wall = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(30)
    server = np.array([r[0] for r in results])
    trip = np.array([r[1] for r in results])
    print(f"model {model}")
    print(
        f"{len(results)} drawings from {args.clients} clients on {os.cpu_count()} cores, "
        f"{len(results) / wall:.0f} drawings/s, {np.mean([r[2] for r in results]):.1%} right"
    )
    for name, values in (("server-side", server), ("round trip", trip)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"{name:12s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {values.max():6.2f} ms")


if __name__ == "__main__":
    main()
