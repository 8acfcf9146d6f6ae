"""The model registry on MLflow (registered model `digitrec`, alias `champion`) and the local
verified cache that `predict` reads without importing mlflow."""

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
    "champion",
    "demote",
    "register",
    "registry_path",
    "resolve_model",
    "sync",
    "versions",
]
