"""Start slow things early, while the caller imports the flow's modules.

`digitrec train` in Prefect's ephemeral mode waits for a temporary server process to start
(11-13 s on 2 cores with a fresh database), and TensorFlow and Great Expectations take ~5 s to
import. Prefect starts that server only on the first flow call, after every import; here it is
spawned first, and the heavy libraries load in a background thread meanwhile (bench/RESULTS.md)."""

from __future__ import annotations

import atexit
import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

HEAVY_MODULES = ("tensorflow", "keras", "great_expectations")


def import_in_background(modules: tuple[str, ...] = HEAVY_MODULES) -> threading.Thread:
    """Start importing `modules` in a daemon thread; join it before the process exits."""

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the code that needs it imports it again and fails there
                return

    thread = threading.Thread(target=run, name="digitrec-preload", daemon=True)
    thread.start()
    return thread


class TemporaryServer:
    """Prefect's temporary server, spawned the way its ephemeral mode spawns one (uvicorn on
    loopback, no UI) and stopped when this process exits."""

    def __init__(self) -> None:
        import prefect
        from prefect.settings import get_current_settings

        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        environment = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        command = [
            sys.executable, "-m", "uvicorn",
            "--app-dir", str(prefect.__module_path__.parent),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env=environment)
        # Registered before Prefect's own exit hooks, so it runs after them (atexit is LIFO):
        # the logs and events Prefect sends at exit still find the server.
        atexit.register(self.stop)

    def wait_until_healthy(self) -> None:
        """Block until /health answers; raise if the server exits or takes too long."""
        import httpx
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Prefect's temporary server exited with code {self.process.returncode}"
                )
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Prefect's temporary server did not answer on {self.api_url}")

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Flow calls inside use this server (once it is healthy) instead of starting one."""
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

        self.wait_until_healthy()
        # No UI URL: this server serves no UI, and stops with the process.
        with temporary_settings({PREFECT_API_URL: self.api_url, PREFECT_UI_URL: ""}):
            yield

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_prefect_server() -> TemporaryServer | None:
    """Spawn the temporary server now when flows would need one: no API configured and
    Prefect's ephemeral mode on (else None: flows use the configured server)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    return TemporaryServer()


@contextmanager
def prefect_api(server: TemporaryServer | None) -> Iterator[None]:
    """Flow calls inside use `server` when there is one, else Prefect's own settings."""
    if server is None:
        yield
        return
    with server.serving():
        yield
