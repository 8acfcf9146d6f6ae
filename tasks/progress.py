"""Progress artifacts: a bar on the Prefect run page that a long step moves as it goes (training
epochs, a big predict batch), so the UI shows how far a running task is and when it will end."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from digitrec.modeling.training import EpochCallback

if TYPE_CHECKING:  # the prediction module imports OpenCV; the training tasks need no part of it
    from digitrec.inference.prediction import Progress

BATCH_MIN_INPUTS = 1000  # smaller predict batches end before a bar would help
Bar = Callable[[float, str], None]  # (percent 0-100, description)


def progress_key(name: str) -> str:
    """`<name>-progress` as an artifact key (only lowercase letters, digits and dashes)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return f"{slug}-progress"


def progress_bar(name: str, description: str) -> Bar:
    """Publish `name`'s progress artifact at 0%; the function returned moves it."""
    artifact_id = create_progress_artifact(
        progress=0.0, key=progress_key(name), description=description
    )

    def move(percent: float, description: str) -> None:
        try:
            update_progress_artifact(
                artifact_id, progress=min(max(percent, 0.0), 100.0), description=description
            )
        except httpx.HTTPError as error:  # a missed update costs the bar a step, not the run
            print(f"warning: progress of {name} not updated: {error}", file=sys.stderr)

    return move


def epoch_progress(name: str, epochs: int, rounds: int = 1) -> EpochCallback:
    """An epoch callback moving `name`'s bar over `rounds` trainings (CV folds) of `epochs`."""
    total = epochs * rounds
    bar = progress_bar(name, f"{name}: epoch 0/{epochs}, starting")
    done = 0

    def on_epoch(epoch: int, of: int, logs: dict[str, float], seconds: float) -> None:
        nonlocal done
        done += 1
        fold = f" (fold {(done - 1) // epochs + 1}/{rounds})" if rounds > 1 else ""
        percent, eta = 100 * done / total, seconds * (total - done)
        bar(percent, f"{name}: epoch {epoch}/{of}{fold}, {percent:.0f}% done, ETA {eta:.0f}s")

    return on_epoch


def both(first: EpochCallback, second: EpochCallback) -> EpochCallback:
    """One epoch callback that calls `first`, then `second`."""

    def on_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
        first(epoch, epochs, logs, seconds)
        second(epoch, epochs, logs, seconds)

    return on_epoch


def batch_progress(name: str, minimum: int = BATCH_MIN_INPUTS) -> Progress:
    """An `on_progress(done, total)` that publishes a bar only for batches over `minimum`."""
    bar: Bar | None = None
    started = 0.0

    def on_progress(done: int, total: int) -> None:
        nonlocal bar, started
        if total <= minimum:
            return
        if bar is None:
            bar, started = progress_bar(name, f"{name}: 0/{total:,} inputs"), time.perf_counter()
        if done:
            percent = 100 * done / total
            eta = (time.perf_counter() - started) / done * (total - done)
            bar(percent, f"{name}: {done:,}/{total:,} inputs, {percent:.0f}% done, ETA {eta:.0f}s")

    return on_progress
