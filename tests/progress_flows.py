"""A flow for tests/tasks/test_progress.py and tests/integration/test_ui_progress.py: the real
`train_stage` task on a small Kaggle folder. With `hold_dir`, each epoch waits after reporting
itself until the test creates `hold_dir/epoch-<n>`, so a test sees every progress value while the
run is RUNNING."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from prefect import flow

from digitrec.data.sources import locate_data
from digitrec.modeling.training import EpochCallback, TrainConfig
from digitrec.pipeline import training
from digitrec.pipeline.records import StageResult
from digitrec.pipeline.run import new_run_dir, split_data
from tasks.training import train_stage

FLOW_NAME = "train-progress-probe"
STAGE = "probe"
HOLD_S = 300  # an abandoned test never leaves the flow waiting for longer


def wait_for_file(path: Path, timeout: float = HOLD_S) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def held(fit: Callable, hold_dir: Path) -> Callable:
    """`fit`, with every epoch held after its report until `hold_dir/epoch-<n>` exists."""

    def fit_held(*args, on_epoch: EpochCallback | None = None, **kwargs):
        def on_epoch_held(epoch: int, epochs: int, logs: dict[str, float], seconds: float):
            on_epoch(epoch, epochs, logs, seconds)
            wait_for_file(hold_dir / f"epoch-{epoch}")

        return fit(*args, on_epoch=on_epoch_held if on_epoch else None, **kwargs)

    return fit_held


@flow(name=FLOW_NAME, log_prints=True)
def train_probe(data_dir: str, epochs: int = 2, hold_dir: str | None = None) -> StageResult:
    """Split `data_dir`'s train.csv and train one compact CNN stage through `train_stage`."""
    run = split_data(locate_data(data_dir), new_run_dir("probe"), 0.2, seed=0)
    config = TrainConfig("compact", epochs=epochs, batch_size=64, augmentation=None, seed=0)
    if hold_dir is None:
        return train_stage(STAGE, config, run)
    with mock.patch.object(training, "fit", held(training.fit, Path(hold_dir))):
        return train_stage(STAGE, config, run)
