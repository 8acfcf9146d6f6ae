"""Where digitrec keeps its files, and how it writes them without ever leaving a partial one."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The root of everything digitrec writes: $DIGITREC_HOME, else var/ at the repo root."""
    return Path(os.environ.get("DIGITREC_HOME") or REPO_ROOT / "var").resolve()


def embedded_data_dir() -> Path:
    return home() / "data" / "mnist"


def runs_dir() -> Path:
    return home() / "runs"


def models_dir() -> Path:
    return home() / "models"


def predictions_dir() -> Path:
    return home() / "predictions"


def cache_dir() -> Path:
    return home() / "cache"


def log_dir() -> Path:
    """The prediction log: append-only JSON-lines segments (digitrec.loop.log)."""
    return home() / "log"


def feedback_dir() -> Path:
    """The feedback store: labelled images as JSON lines (digitrec.loop.feedback)."""
    return home() / "feedback"


def monitor_dir() -> Path:
    """Monitor runs: one folder each with report.json and figures (digitrec.loop.monitor)."""
    return home() / "monitor"


def inbox_dir() -> Path:
    """Where remote callers' files go: one of the folders the predict flow may read from."""
    return home() / "inbox"


def new_stamped_dir(parent: Path, label: str | None = None) -> Path:
    """A fresh folder named by UTC time, an optional label and a random suffix, e.g.
    `20261124-101500-fast-1a2b`: sorts by time, never collides."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = parent / "-".join(part for part in (stamp, label, secrets.token_hex(2)) if part)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def atomic_path(target: Path | str, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside `target`; rename it over `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(target: Path | str, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: Path | str, text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path | str, obj: Any) -> Path:
    return write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_with(target: Path | str, writer: Callable[[Path], None]) -> Path:
    """Atomically create `target` with a writer that takes a path (e.g. `model.save`)."""
    # Keep the suffix: some writers (Keras, numpy) check or append the file extension.
    with atomic_path(target, suffix=Path(target).suffix) as tmp:
        tmp.unlink()
        writer(tmp)
    return Path(target)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
