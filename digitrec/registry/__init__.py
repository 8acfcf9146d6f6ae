"""The model registry: every trained model with its data fingerprint and metrics, and the
champion that `predict` uses by default."""

from digitrec.registry.store import (
    champion,
    decide_promotion,
    read_registry,
    register,
    registry_path,
    resolve_model,
)

__all__ = [
    "champion",
    "decide_promotion",
    "read_registry",
    "register",
    "registry_path",
    "resolve_model",
]
