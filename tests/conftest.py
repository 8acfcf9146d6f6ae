"""Shared fixtures: an isolated DIGITREC_HOME / PREFECT_HOME and small Kaggle-format data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Isolate every test session before anything imports prefect or digitrec.storage.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="digitrec-tests-"))
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)
os.environ["DIGITREC_HOME"] = str(_SESSION_DIR / "home")
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("PREFECT_API_URL", None)
# A train flow trains no number reader (minutes) unless a test asks for one with a few steps.
os.environ["DIGITREC_READER_STEPS"] = "0"

from digitrec.constants import PIXEL_COLUMNS, TRAIN_COLUMNS  # noqa: E402
from digitrec.data.embedded import load_mnist_arrays  # noqa: E402


@pytest.fixture(scope="session")
def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 real MNIST images (uint8 (N, 28, 28)) and labels."""
    return load_mnist_arrays()


def kaggle_dir(mnist_arrays, tmp_path_factory, name: str, train_rows: int, test_rows: int) -> Path:
    """A Kaggle-format folder (train.csv, test.csv, test_labels.csv) of real MNIST images."""
    from digitrec.data.embedded import write_kaggle_files

    images, labels = mnist_arrays
    end = train_rows + test_rows
    out = tmp_path_factory.mktemp(name)
    write_kaggle_files(
        out,
        images[:train_rows],
        labels[:train_rows],
        images[train_rows:end],
        labels[train_rows:end],
    )
    return out


@pytest.fixture(scope="session")
def small_kaggle_dir(mnist_arrays, tmp_path_factory) -> Path:
    """600 train / 200 test real MNIST images with answers."""
    return kaggle_dir(mnist_arrays, tmp_path_factory, "kaggle-small", 600, 200)


@pytest.fixture(scope="session")
def medium_kaggle_dir(mnist_arrays, tmp_path_factory) -> Path:
    """3,000 train / 500 test real MNIST images: enough for a tiny flow run to learn."""
    return kaggle_dir(mnist_arrays, tmp_path_factory, "kaggle-medium", 3000, 500)


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    """Write a small CSV by hand (for bad-data cases)."""
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def train_header() -> list[str]:
    return list(TRAIN_COLUMNS)


@pytest.fixture
def test_header() -> list[str]:
    return list(PIXEL_COLUMNS)


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API (SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def strong_model_path(mnist_arrays, tmp_path_factory) -> Path:
    """A compact CNN trained on 6,000 real images (disjoint from small_kaggle_dir's 800)."""
    from digitrec.inference.runtimes import RUNTIMES, export_runtime
    from digitrec.modeling.training import TrainConfig, fit
    from digitrec.storage import write_with

    images, labels = mnist_arrays
    config = TrainConfig("compact", epochs=3, batch_size=64, augmentation=None, seed=0)
    result = fit(config, (images[10_000:16_000], labels[10_000:16_000]))
    path = write_with(tmp_path_factory.mktemp("strong") / "strong.keras", result.model.save)
    # As the training flow does: a LiteRT export beside it, so predictions skip TensorFlow.
    if export_runtime(RUNTIMES["litert"], result.model, path, images[60_000:60_512]).path is None:
        raise RuntimeError("LiteRT export disagreed with Keras")
    return path


READER = Path(__file__).parent / "models" / "number_reader.keras"  # bench/train_reader.py's


@pytest.fixture(scope="session")
def reader_model_path(strong_model_path, tmp_path_factory) -> Path:
    """strong_model_path's model with a trained number reader beside it (the committed one:
    3,000 steps take minutes) and the reader's LiteRT export, as the training flow leaves them."""
    import keras

    from digitrec.inference.number_reader import reader_path
    from digitrec.storage import write_with

    folder = tmp_path_factory.mktemp("with-reader")
    for source in strong_model_path.parent.glob(f"{strong_model_path.stem}.*"):
        shutil.copyfile(source, folder / source.name)
    model = folder / strong_model_path.name
    reader = reader_path(model)
    shutil.copyfile(READER, reader)
    loaded = keras.saving.load_model(reader, compile=False)
    export = reader.with_suffix(".tflite")
    write_with(export, lambda tmp: loaded.export(str(tmp), format="litert", verbose=False))
    return model


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `prefect server start` on a free loopback port, one per test module that asks."""
    from tests.prefect_servers import running_server

    with running_server(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture(scope="module")
def served(server, tmp_path_factory, reader_model_path):
    """deployments/serve.py against `server`, with reader_model_path (a digit model and its
    number reader) as the champion."""
    from tests.prefect_servers import Served, register_champion

    home = tmp_path_factory.mktemp("served") / "home"
    register_champion(home, reader_model_path)
    served = Served(server, home, tmp_path_factory.mktemp("serve-prefect"))
    try:
        yield served.start()
    finally:
        served.stop()
