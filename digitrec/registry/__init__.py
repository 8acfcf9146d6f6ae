"""The model registry on MLflow (registered model `digitrec`, alias `champion`) and the local
verified cache that `predict` reads without importing mlflow."""

from digitrec.registry.store import (
    champion,
    decide_promotion,
    demote,
    migrate_legacy,
    register,
    registry_path,
    resolve_model,
    sync,
    versions,
)

__all__ = [
    "champion",
    "decide_promotion",
    "demote",
    "migrate_legacy",
    "register",
    "registry_path",
    "resolve_model",
    "sync",
    "versions",
]
