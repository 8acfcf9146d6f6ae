"""The registry's record of one model version: what `register` takes and returns, and what
`champion` and `versions` read back. Stored as MLflow version tags and as the cache's JSON
manifest in the same keys as ever; the dict forms exist only at that storage edge."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

RUN_TAG = "digitrec.run_id"  # the run folder's name, on MLflow runs and model versions
ALIAS = "champion"
LOCAL_ONLY = ("model_path", "mlflow_run_id", "aliases")  # never written as version tags


@dataclass(frozen=True)
class ModelRecord:
    """One registered model: its run, scores and data, and (once registered) the decision."""

    run_id: str
    model_path: str | None = None  # local .keras file; None on `versions()` rows
    mlflow_run_id: str | None = None
    profile: str | None = None
    architecture: str | None = None
    created: str | None = None  # UTC, ISO 8601
    data_fingerprint: dict[str, str] | None = None
    validation_fraction: float | None = None
    val_accuracy: float | None = None
    feedback_accuracy: float | None = None
    hidden_test_accuracy: float | None = None
    prefect_flow_run_url: str | None = None
    training_key: str | None = None  # data + feedback + code + settings (pipeline.retraining)
    version: int | None = None  # the MLflow model version of `digitrec`
    promoted: bool | None = None
    decision: str | None = None  # why it was (not) promoted, or rolled back, or failed
    previous_champion: int | None = None  # the champion's version when this one registered
    aliases: tuple[str, ...] = ()

    @property
    def is_champion(self) -> bool:
        return ALIAS in self.aliases

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (cache manifests): set fields only, as stored before records were typed."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "aliases"}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> ModelRecord:
        """A record from a manifest or tags dict; unknown keys (files, folder...) are ignored."""
        kinds = {f.name: f.type for f in fields(cls)}
        values = {k: typed(kinds[k], v) for k, v in stored.items() if k in kinds}
        return cls(**{"run_id": "", **values})  # a version tagged without its run: ""

    def to_tags(self) -> dict[str, str]:
        """The record as MLflow version tags (strings; dicts as JSON), without local fields."""
        tags = {}
        for key, value in self.to_dict().items():
            if key in LOCAL_ONLY:
                continue
            name = RUN_TAG if key == "run_id" else key
            tags[name] = tag_text(value)
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> ModelRecord:
        """Version tags back to a record (numbers, flags and JSON decoded by field type)."""
        return cls.from_dict({"run_id" if k == RUN_TAG else k: v for k, v in tags.items()})


def tag_text(value: Any) -> str:
    """One tag value: JSON for dicts and lists, lower-case for flags, else str."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def typed(kind: str, value: Any) -> Any:
    """A stored value (tag string or JSON value) as the field's type says."""
    if value is None or not isinstance(value, str):
        return tuple(value) if kind.startswith("tuple") and value is not None else value
    if kind.startswith("float"):
        return float(value)
    if kind.startswith("int"):
        return int(value)
    if kind.startswith("bool"):
        return value.lower() == "true"
    if kind.startswith(("dict", "tuple")):
        loaded = json.loads(value)
        return tuple(loaded) if kind.startswith("tuple") else loaded
    return value
