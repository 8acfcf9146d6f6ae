"""The deployments as `prefect.yaml` declares them, for code that builds them in Python.

`prefect.yaml` is the one place deployment names, entrypoints, descriptions, tags, default
parameters, schedules and event triggers are written: `prefect deploy --all` reads it directly, and
`deployments/serve.py` reads it through this module, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from prefect import Flow

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = REPO_ROOT / "prefect.yaml"


@dataclass(frozen=True)
class ScheduleSpec:
    """One entry of a deployment's `schedules:` (only cron schedules are used here)."""

    cron: str
    timezone: str | None = None
    active: bool = True


@dataclass(frozen=True)
class DeploymentSpec:
    """One entry of `deployments:`, the fields both `prefect deploy` and serve.py use."""

    name: str
    entrypoint: str  # "flows/training.py:train", relative to the repo root
    description: str | None = None  # None: Prefect uses the flow's docstring
    tags: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    schedules: tuple[ScheduleSpec, ...] = ()
    # Each entry of `triggers:` as written; serve.py validates them with the same pydantic
    # model `prefect deploy` uses (DeploymentTriggerTypes), so both accept the same YAML.
    triggers: tuple[Mapping[str, Any], ...] = ()

    @property
    def flow_function(self) -> str:
        """The name after the colon, the flow function in the entrypoint's file."""
        return self.entrypoint.rpartition(":")[2]


def _schedule(raw: Mapping[str, Any], deployment: str) -> ScheduleSpec:
    if "cron" not in raw:
        # serve.py builds CronSchedules only; fail loudly rather than drop an interval/rrule.
        raise ValueError(f"deployment {deployment!r}: only cron schedules are supported: {raw}")
    return ScheduleSpec(
        cron=str(raw["cron"]), timezone=raw.get("timezone"), active=bool(raw.get("active", True))
    )


def _deployment(raw: Mapping[str, Any]) -> DeploymentSpec:
    name = raw["name"]
    return DeploymentSpec(
        name=name,
        entrypoint=raw["entrypoint"],
        description=raw.get("description"),
        tags=tuple(raw.get("tags") or ()),
        # A read-only view: the specs are shared, a caller that needs a dict copies it.
        parameters=MappingProxyType(dict(raw.get("parameters") or {})),
        schedules=tuple(_schedule(s, name) for s in raw.get("schedules") or ()),
        triggers=tuple(_trigger(t, name) for t in raw.get("triggers") or ()),
    )


def _trigger(raw: Any, deployment: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"deployment {deployment!r}: a trigger must be a mapping, got {raw!r}")
    return MappingProxyType(copy.deepcopy(dict(raw)))


def load_deployments(path: Path = PREFECT_YAML) -> dict[str, DeploymentSpec]:
    """Every deployment in `path` (prefect.yaml by default), keyed by deployment name."""
    # safe_load resolves the file's YAML anchors (&digitrec_pool / *digitrec_pool).
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    specs = [_deployment(raw) for raw in document.get("deployments") or ()]
    by_name = {spec.name: spec for spec in specs}
    if len(by_name) != len(specs):
        raise ValueError(f"{path}: deployment names must be unique")
    return by_name


def entrypoint_module(entrypoint: str) -> tuple[str, str]:
    """("flows.training", "train") for "flows/training.py:train"."""
    file, sep, attribute = entrypoint.rpartition(":")
    if not sep or not file.endswith(".py") or not attribute:
        raise ValueError(f"expected 'path/to/file.py:flow_function', got {entrypoint!r}")
    return file.removesuffix(".py").replace("/", "."), attribute


def load_flow(entrypoint: str) -> Flow[..., Any]:
    """The flow object an entrypoint names, imported as a module of the repo (not by file
    path), so it is the same object the rest of the code imports."""
    module, attribute = entrypoint_module(entrypoint)
    return getattr(importlib.import_module(module), attribute)
