"""The model registry on MLflow: every trained model is a version of the registered model
`digitrec`; the alias `champion` is what `predict` uses. Reading the champion goes through the
local verified cache (digitrec.registry.cache) and never imports mlflow."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import digitrec.registry.backend as backend
import digitrec.registry.cache as cache
from digitrec.registry.records import ModelRecord
from digitrec.storage import runs_dir

if TYPE_CHECKING:
    from mlflow import MlflowClient

Judge = Callable[[ModelRecord | None], tuple[bool, str]]  # current champion -> (promote, why)


def registry_path() -> Path:
    """The cheap change marker: champion.json, rewritten on every promotion."""
    return cache.champion_path()


def champion() -> ModelRecord | None:
    """The champion's record (model_path local and absolute), or None before any promotion."""
    manifest = cache.read_champion()
    return None if manifest is None else champion_record(manifest)


def champion_record(manifest: dict) -> ModelRecord:
    """The champion's cached manifest as a record carrying its alias."""
    return replace(cache.public_record(manifest), aliases=(backend.ALIAS,))


def register(record: ModelRecord, promote: bool, judge: Judge | None = None) -> ModelRecord:
    """Make record.model_path (with its sidecars) a new version; move `champion` to it when
    `promote` and `judge` (given the current champion, under the lock) agrees. Returns the
    record with version, promoted, decision and previous_champion."""
    for key in ("run_id", "model_path"):
        if not getattr(record, key):
            raise ValueError(f"registry record lacks {key!r}")
    model_path = Path(record.model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: model file not found")
    mlflow_client = backend.client()
    version = add_version(mlflow_client, record, model_path)
    with backend.registry_lock():
        try:
            current = current_champion(mlflow_client)
            earned, reason = (True, "promoted on request") if judge is None else judge(current)
        except Exception as error:  # the version stays, marked so it never becomes champion
            for key, value in (("promoted", "false"), ("decision", f"failed: {error}"[:5000])):
                mlflow_client.set_model_version_tag(backend.MODEL_NAME, version, key, value)
            raise
        if not promote:
            earned, reason = False, "promotion disabled for this run (promote=false)"
        promoted, reason = set_alias(mlflow_client, version, reason) if earned else (False, reason)
        tags = {"promoted": str(promoted).lower(), "decision": reason}
        if current is not None:
            tags["previous_champion"] = str(current.version)
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(backend.MODEL_NAME, version, key, value)
        manifest = cache.fill_cache(version, model_path, replace(record, version=int(version)))
        if promoted:
            cache.set_champion(manifest)
    previous = None if current is None else current.version
    return replace(record, version=int(version), promoted=promoted, decision=reason,
                   previous_champion=previous)  # fmt: skip


def demote(version: int, previous: int | None, why: str) -> bool:
    """Undo a promotion: move `champion` back to `previous` (or remove it when there was none)
    if it still points at `version`, and tag `version` as rolled back. False, changing nothing,
    when another promotion has happened since."""
    from mlflow.exceptions import MlflowException

    mlflow_client = backend.client()
    with backend.registry_lock():
        try:
            now = mlflow_client.get_model_version_by_alias(backend.MODEL_NAME, backend.ALIAS)
        except MlflowException:
            return False
        if str(now.version) != str(version):
            return False
        if previous is None:
            mlflow_client.delete_registered_model_alias(backend.MODEL_NAME, backend.ALIAS)
            cache.champion_path().unlink(missing_ok=True)
        else:
            mlflow_client.set_registered_model_alias(backend.MODEL_NAME, backend.ALIAS, previous)
            before = mlflow_client.get_model_version(backend.MODEL_NAME, str(previous))
            cache.set_champion(cached(before))
        for key, value in (("promoted", "false"), ("decision", f"rolled back: {why}"[:5000])):
            mlflow_client.set_model_version_tag(backend.MODEL_NAME, str(version), key, value)
    return True


def add_version(mlflow_client: MlflowClient, record: ModelRecord, model_path: Path) -> str:
    """Log the model into its MLflow run (a new one unless record names one); a new version."""
    backend.ensure_model(mlflow_client)
    run_id = record.mlflow_run_id
    new_run = run_id is None
    if new_run:
        run_id = mlflow_client.create_run(
            backend.experiment_id(mlflow_client),
            run_name=record.run_id,
            tags={backend.RUN_TAG: record.run_id},
        ).info.run_id
    files = [model_path, *cache.sidecars(model_path)]
    source = backend.log_model(mlflow_client, run_id, model_path, files)
    version = mlflow_client.create_model_version(
        backend.MODEL_NAME, source, run_id=run_id, tags=record.to_tags()
    ).version
    if new_run:
        mlflow_client.set_terminated(run_id)
    return str(version)


def set_alias(mlflow_client: MlflowClient, version: str, reason: str) -> tuple[bool, str]:
    """Point `champion` at the version. A server may have other writers that do not share this
    lock: read the alias back and report a lost race instead of claiming the title."""
    mlflow_client.set_registered_model_alias(backend.MODEL_NAME, backend.ALIAS, version)
    if backend.is_embedded():
        return True, reason
    now = mlflow_client.get_model_version_by_alias(backend.MODEL_NAME, backend.ALIAS).version
    if str(now) != str(version):
        return False, f"lost a concurrent promotion to version {now}"
    return True, reason


def current_champion(mlflow_client: MlflowClient) -> ModelRecord | None:
    """The champion per MLflow (cached locally, model_path set), or None."""
    from mlflow.exceptions import MlflowException

    try:
        found = mlflow_client.get_model_version_by_alias(backend.MODEL_NAME, backend.ALIAS)
    except MlflowException:
        return None
    return champion_record(cached(found))


def cached(model_version) -> dict:
    """A version's cache manifest, downloading its files when this machine lacks them."""
    manifest = cache.cached_version(model_version.version)
    if manifest is not None:
        return manifest
    record = replace(ModelRecord.from_tags(model_version.tags), version=int(model_version.version))
    with tempfile.TemporaryDirectory(prefix="digitrec-download-") as tmp:
        folder = backend.download_files(model_version.run_id, Path(tmp))
        model = next((p for p in folder.glob("*.keras") if p.name.count(".") == 1), None)
        if model is None:
            raise FileNotFoundError(f"version {model_version.version} has no .keras artifact")
        return cache.fill_cache(model_version.version, model, record)


def sync() -> ModelRecord | None:
    """Refresh champion.json (and the cache) from MLflow's alias: after another machine
    promoted, or to repair a corrupt cached file. Returns the champion record or None."""
    from mlflow.exceptions import MlflowException

    mlflow_client = backend.client()
    with backend.registry_lock():
        try:
            found = mlflow_client.get_model_version_by_alias(backend.MODEL_NAME, backend.ALIAS)
        except MlflowException:  # no model or no alias yet: nothing to sync
            return None
        cache.version_dir(found.version).joinpath(cache.MANIFEST).unlink(missing_ok=True)
        manifest = cached(found)
        cache.set_champion(manifest)
    return champion_record(manifest)


def versions() -> list[ModelRecord]:
    """Every version of `digitrec`, oldest first, as records with version and aliases."""
    mlflow_client = backend.client()
    found = mlflow_client.search_model_versions(f"name='{backend.MODEL_NAME}'")
    rows = [
        replace(
            ModelRecord.from_tags(v.tags),
            version=int(v.version),
            aliases=tuple(v.aliases),
            mlflow_run_id=v.run_id,
        )  # fmt: skip
        for v in found
    ]
    return sorted(rows, key=lambda r: r.version)


def resolve_model(ref: str = "champion") -> Path:
    """A local .keras file from 'champion', a version number, a run id (the run folder's, or an
    MLflow run's) or a .keras path. 'champion' and cached versions never import mlflow."""
    if ref == "champion":
        manifest = cache.read_champion()
        if manifest is None:
            raise FileNotFoundError("no champion model yet: run the training flow first (make run)")
        return cache.verified_model(manifest)
    as_path = Path(ref)
    if as_path.suffix == ".keras":
        if not as_path.is_file():
            raise FileNotFoundError(f"{as_path}: model file not found")
        return as_path
    if ref.isdigit() and (manifest := cache.cached_version(ref)) is not None:
        return cache.verified_model(manifest)
    run_model = runs_dir() / ref / "model.keras"
    if "/" not in ref and run_model.is_file():
        return run_model
    return cache.verified_model(find_in_mlflow(ref))


def find_in_mlflow(ref: str) -> dict:
    """The cache manifest of the version `ref` names (number or MLflow run id)."""
    from mlflow.exceptions import MlflowException

    mlflow_client = backend.client()
    found = []
    if ref.isdigit():
        try:
            found = [mlflow_client.get_model_version(backend.MODEL_NAME, ref)]
        except MlflowException:
            found = []
    elif ref.isalnum():
        query = f"name='{backend.MODEL_NAME}' and run_id='{ref}'"
        found = mlflow_client.search_model_versions(query)
    if not found:
        raise FileNotFoundError(
            f"{ref!r} is neither 'champion', a model version, a run id with a model, "
            "nor a .keras file"
        )
    return cached(max(found, key=lambda v: int(v.version)))
