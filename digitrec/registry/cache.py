"""The local, verified copy of registered models that `predict` reads: no MLflow import here.

Registering or promoting writes each version's files under `models/cache/<version>/` with a
manifest (relative paths, sizes, sha256), and the champion's manifest as `models/champion.json`.
Every stored path is relative to DIGITREC_HOME, so the folder can move."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

from digitrec.registry.records import ModelRecord
from digitrec.storage import home, models_dir, sha256_file, write_json_atomic

MANIFEST = "manifest.json"
REMEDY = "re-register it with `digitrec registry sync` (or retrain with `make run`)"
_verified: set[tuple[str, int, float]] = set()  # (path, size, mtime) hashed in this process


def champion_path() -> Path:
    """The champion's manifest: its mtime is the cheap change marker the web app watches."""
    return models_dir() / "champion.json"


def version_dir(version: int | str) -> Path:
    return models_dir() / "cache" / str(version)


def sidecars(model_path: Path) -> list[Path]:
    """The files that travel with a .keras model: its exports, calibration, gate, export.json."""
    stem = model_path.name.removesuffix(".keras")
    found = sorted(p for p in model_path.parent.glob(f"{stem}.*") if p != model_path)
    export = model_path.parent / "export.json"
    return [p for p in found if p.is_file()] + ([export] if export.is_file() else [])


def fill_cache(version: int | str, model_path: Path, record: ModelRecord) -> dict:
    """Copy a model and its sidecars into the version's cache folder; write its manifest (the
    record without its local path, plus the version, the model's file name and every file's
    size and sha256)."""
    folder = version_dir(version)
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for source in [model_path, *sidecars(model_path)]:
        shutil.copyfile(source, tmp / source.name)
    stamp = os.stat(tmp / model_path.name).st_mtime
    for copied in tmp.iterdir():  # exports stay "current": never older than the .keras file
        os.utime(copied, (stamp, stamp))
    stored = replace(record, model_path=None, version=int(version)).to_dict()
    manifest = dict(stored, model_file=model_path.name)
    manifest["files"] = {
        p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in sorted(tmp.iterdir())
    }
    write_json_atomic(tmp / MANIFEST, manifest)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return read_manifest(folder / MANIFEST)


def read_manifest(path: Path) -> dict:
    """A manifest as a dict; a corrupt one is an error that names it and the remedy."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt model manifest ({error}); {REMEDY}") from error


def cached_version(version: int | str) -> dict | None:
    """A cached version's manifest, or None when it is not cached here."""
    path = version_dir(version) / MANIFEST
    return read_manifest(path) if path.is_file() else None


def set_champion(manifest: dict) -> None:
    """Point champion.json at a cached version (called under the registry lock)."""
    rel = version_dir(manifest["version"]).relative_to(home())
    write_json_atomic(champion_path(), dict(manifest, folder=str(rel)))


def read_champion() -> dict | None:
    path = champion_path()
    return read_manifest(path) if path.is_file() else None


def verified_model(manifest: dict) -> Path:
    """The manifest's .keras file, after checking every cached file: sizes on each call, sha256
    once per process and file state."""
    folder = version_dir(manifest["version"])
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: cached model file missing; {REMEDY}")
        stat = path.stat()
        if stat.st_size != expected["size"]:
            raise ValueError(f"{path}: cached model file is corrupt (size differs); {REMEDY}")
        key = (str(path), stat.st_size, stat.st_mtime)
        if key not in _verified:
            if sha256_file(path) != expected["sha256"]:
                raise ValueError(f"{path}: cached model file is corrupt (sha256 differs); {REMEDY}")
            _verified.add(key)
    return folder / manifest["model_file"]


def public_record(manifest: dict) -> ModelRecord:
    """The champion/version record callers see: metrics plus an absolute local model_path."""
    local = str(version_dir(manifest["version"]) / manifest["model_file"])
    return replace(ModelRecord.from_dict(manifest), model_path=local)
