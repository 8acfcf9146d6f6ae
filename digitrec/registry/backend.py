"""MLflow as digitrec's tracking store and model registry: where it is, and the lock that
serializes champion changes. mlflow is imported inside functions so `import digitrec.registry`
stays cheap and the predict path never loads it."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from digitrec.registry.records import ALIAS, RUN_TAG  # noqa: F401  (read as backend.*)
from digitrec.storage import home

if TYPE_CHECKING:
    from mlflow import MlflowClient

MODEL_NAME = "digitrec"
EXPERIMENT = "digitrec"
MODEL_ARTIFACT = "model"  # the MLflow Keras model (MLmodel, signature, data/model.keras)
FILES_ARTIFACT = "files"  # the run folder's model.keras and sidecars, byte for byte


def mlflow_dir() -> Path:
    return home() / "mlflow"


def is_embedded() -> bool:
    """No MLFLOW_TRACKING_URI: the SQLite store under DIGITREC_HOME, no server."""
    return not os.environ.get("MLFLOW_TRACKING_URI")


def tracking_uri() -> str:
    if not is_embedded():
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def client() -> MlflowClient:
    """A client on the configured store (created on first use when embedded). The URI is passed
    explicitly, never set globally: mlflow.set_tracking_uri would export MLFLOW_TRACKING_URI and
    pin this process to one DIGITREC_HOME."""
    from mlflow import MlflowClient

    if is_embedded():
        (mlflow_dir() / "artifacts").mkdir(parents=True, exist_ok=True)
    uri = tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(mlflow_client: MlflowClient) -> str:
    """The `digitrec` experiment, created on first use (embedded: artifacts under mlflow/)."""
    from mlflow.exceptions import MlflowException

    found = mlflow_client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    location = (mlflow_dir() / "artifacts").as_uri() if is_embedded() else None
    try:
        return mlflow_client.create_experiment(EXPERIMENT, artifact_location=location)
    except MlflowException:  # another process created it first
        return mlflow_client.get_experiment_by_name(EXPERIMENT).experiment_id


def ensure_model(mlflow_client: MlflowClient) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(MODEL_NAME)
    except MlflowException:
        try:
            mlflow_client.create_registered_model(
                MODEL_NAME, description="digitrec digit classifiers; alias champion serves"
            )
        except MlflowException:  # created concurrently
            pass


@contextmanager
def registry_lock() -> Iterator[None]:
    """Serialize compare-and-set of the champion alias between processes on this host (and on
    every host sharing DIGITREC_HOME). Not reentrant: take it once per operation."""
    path = mlflow_dir() / "registry.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def log_model(mlflow_client: MlflowClient, run_id: str, model_path: Path, files: list[Path]) -> str:
    """Log the Keras model as an MLflow model (signature, loadable by mlflow.keras) and its
    files verbatim; returns the model's artifact URI, the version's source."""
    import keras
    import mlflow.keras
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    model = keras.saving.load_model(model_path, safe_mode=True)
    classes = int(model.output_shape[-1])
    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float32"), (-1, *model.input_shape[1:]))]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, classes))]),
    )
    with tempfile.TemporaryDirectory(prefix="digitrec-mlflow-") as tmp:
        saved = Path(tmp) / MODEL_ARTIFACT
        # Explicit requirements: inferring them would load the model again in a subprocess.
        mlflow.keras.save_model(
            model, str(saved), signature=signature, pip_requirements=requirements()
        )
        mlflow_client.log_artifacts(run_id, str(saved), MODEL_ARTIFACT)
        verbatim = Path(tmp) / FILES_ARTIFACT
        verbatim.mkdir()
        for path in files:
            shutil.copyfile(path, verbatim / path.name)
        mlflow_client.log_artifacts(run_id, str(verbatim), FILES_ARTIFACT)
    return f"{mlflow_client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACT}"


def requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("tensorflow", "keras", "numpy")]


def download_files(run_id: str, destination: Path) -> Path:
    """A version's verbatim files, downloaded from its run's artifacts."""
    import mlflow.artifacts

    path = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path=FILES_ARTIFACT,
        dst_path=str(destination),
        tracking_uri=tracking_uri(),
    )
    return Path(path)
