"""The model registry: every trained model with its data fingerprint and metrics, and which one
is the champion that `predict` uses by default."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digitrec.storage import models_dir, runs_dir, write_json_atomic

EMPTY = {"champion": None, "models": []}


def registry_path() -> Path:
    return models_dir() / "registry.json"


def read_registry() -> dict:
    """The registry as a dict; an absent file is an empty registry."""
    path = registry_path()
    if not path.exists():
        return json.loads(json.dumps(EMPTY))
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: corrupt registry ({error}); restore it or remove it") from error


@contextmanager
def locked_registry() -> Iterator[dict]:
    """Read-modify-write under an exclusive lock; written atomically only if the block succeeds."""
    lock_path = models_dir() / "registry.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        registry = read_registry()
        yield registry
        write_json_atomic(registry_path(), registry)


def champion() -> dict | None:
    """The champion's record, or None before any model was promoted."""
    registry = read_registry()
    return next((m for m in registry["models"] if m["run_id"] == registry["champion"]), None)


def decide_promotion(
    candidate_accuracy: float, champion_accuracy: float | None
) -> tuple[bool, str]:
    """Promote only a model that beats the champion on the same validation data."""
    if champion_accuracy is None:
        return True, "no champion yet"
    if candidate_accuracy > champion_accuracy:
        return True, f"beats the champion ({candidate_accuracy:.4%} > {champion_accuracy:.4%})"
    return (
        False,
        f"does not beat the champion ({candidate_accuracy:.4%} <= {champion_accuracy:.4%})",
    )


def register(record: dict, promote: bool) -> dict:
    """Add a model record (must hold run_id and model_path); make it champion when `promote`."""
    for key in ("run_id", "model_path"):
        if key not in record:
            raise ValueError(f"registry record lacks {key!r}")
    with locked_registry() as registry:
        registry["models"] = [m for m in registry["models"] if m["run_id"] != record["run_id"]]
        registry["models"].append(record)
        if promote:
            registry["champion"] = record["run_id"]
        return registry


def resolve_model(ref: str = "champion") -> Path:
    """A model file from 'champion', a run id, or a path to a .keras file."""
    if ref == "champion":
        record = champion()
        if record is None:
            raise FileNotFoundError("no champion model yet: run the training flow first (make run)")
        return Path(record["model_path"])
    as_path = Path(ref)
    if as_path.suffix == ".keras":
        if not as_path.is_file():
            raise FileNotFoundError(f"{as_path}: model file not found")
        return as_path
    run_model = runs_dir() / ref / "model.keras"
    if not run_model.is_file():
        raise FileNotFoundError(
            f"{ref!r} is neither 'champion', a run id with a model, nor a .keras file"
        )
    return run_model
