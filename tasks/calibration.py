"""Calibration task: the temperature that makes confidences honest, and its diagram."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import markdown as md
from digitrec.pipeline import calibration
from digitrec.pipeline.records import Calibration, RunContext
from tasks.artifacts import publish_markdown


@task(cache_policy=NO_CACHE)
def calibrate_model(model_path: str, run: RunContext) -> Calibration:
    """Fit the temperature on the validation split; publish the reliability diagram."""
    result = calibration.calibrate_model(model_path, run)
    print(
        f"calibration: temperature {result.temperature:.3f}, validation ECE "
        f"{result.ece_before:.4f} -> {result.ece_after:.4f}"
    )
    figure = (run.run_dir / "figures" / "reliability.png").read_bytes()
    body = (
        md.table(
            [
                {
                    "temperature": result.temperature,
                    "ECE before": result.ece_before,
                    "ECE after": result.ece_after,
                }
            ]
        )
        + "\n"
        + md.image(figure, "reliability")
    )
    publish_markdown("calibration", body, "Temperature scaling on the validation split")
    return result
