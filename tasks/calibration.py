"""Calibration task: the temperature that makes confidences honest, and its diagram."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import calibration
from digitrec.pipeline.records import Calibration, RunContext
from tasks.artifacts import publish_table_and_figure


@task(cache_policy=NO_CACHE)
def calibrate_model(model_path: str, run: RunContext) -> Calibration:
    """Fit the temperature on the validation split; publish the reliability diagram."""
    result = calibration.calibrate_model(model_path, run)
    print(
        f"calibration: temperature {result.temperature:.3f}, validation ECE "
        f"{result.ece_before:.4f} -> {result.ece_after:.4f}"
    )
    figure = run.run_dir / "figures" / "reliability.png"
    publish_table_and_figure("calibration", asdict(result), figure, "Temperature scaling")
    return result
