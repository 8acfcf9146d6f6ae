"""Calibration step: fit the model's temperature on the validation split, store it beside
model.keras, and draw the reliability diagram before and after."""

from __future__ import annotations

from digitrec.evaluation import confidence_figures
from digitrec.evaluation.calibration import expected_calibration_error, reliability
from digitrec.inference.calibration import apply_temperature, fit_temperature, save_temperature
from digitrec.pipeline.data import save_figures
from digitrec.pipeline.records import Calibration, RunContext, plain
from digitrec.pipeline.run import probabilities, validation_rows
from digitrec.storage import write_json_atomic


def calibrate_model(model_path: str, run: RunContext) -> Calibration:
    """Temperature scaling on the validation rows (held out from every training step)."""
    x_val, y_val = validation_rows(run)
    raw = probabilities(model_path, x_val, calibrate=False)  # (N_val, 10)
    temperature = fit_temperature(raw, y_val)
    scaled = apply_temperature(raw, temperature)
    result = Calibration(
        temperature=temperature,
        rows=len(y_val),
        ece_before=expected_calibration_error(raw, y_val),
        ece_after=expected_calibration_error(scaled, y_val),
        mean_confidence_before=float(raw.max(1).mean()),
        mean_confidence_after=float(scaled.max(1).mean()),
        accuracy=float((raw.argmax(1) == y_val).mean()),
    )
    save_temperature(model_path, temperature, ece_before=result.ece_before, rows=result.rows)
    drawn = confidence_figures.reliability_diagram(
        {"before": reliability(raw, y_val), "after": reliability(scaled, y_val)}
    )
    save_figures(run.run_dir, {"reliability": drawn})
    write_json_atomic(run.run_dir / "calibration.json", plain(result))
    return result
