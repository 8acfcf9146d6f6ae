"""The model registry on MLflow (registered model `digitrec`, alias `champion`) and the local
verified cache that `predict` reads without importing mlflow."""

from digitrec.registry.records import ModelRecord
from digitrec.registry.store import (
    champion,
    demote,
    register,
    registry_path,
    resolve_model,
    sync,
    versions,
)

__all__ = [
    "ModelRecord",
    "champion",
    "demote",
    "register",
    "registry_path",
    "resolve_model",
    "sync",
    "versions",
]
