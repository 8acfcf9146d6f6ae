"""Rejection task: the "not a digit" gate, its threshold and its ROC."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import rejection
from digitrec.pipeline.records import GateInputs, Rejection, RunContext
from tasks.artifacts import publish_table_and_figure


@task(cache_policy=NO_CACHE)
def prepare_gate(run: RunContext) -> GateInputs:
    """Render the gate's training and held-out images into the run folder (submitted early: a
    child process renders them while the digit models train)."""
    inputs = rejection.prepare_gate_inputs(run, in_child=True)
    print(
        f"not-a-digit gate inputs: {inputs.digits} digits, {inputs.nondigits} non-digits, "
        f"{inputs.held_out} held-out non-digits"
    )
    return inputs


@task(cache_policy=NO_CACHE)
def train_rejector(model_path: str, run: RunContext, inputs: GateInputs) -> Rejection:
    """Train and export the gate; publish its held-out rates and ROC."""
    result = rejection.train_rejector(model_path, run, inputs)
    print(
        f"not-a-digit gate: rejects {result.nondigits_rejected:.2%} of held-out non-digits and "
        f"{result.digits_rejected:.2%} of validation digits (AUC {result.auc:.4f})"
    )
    figure = run.run_dir / "figures" / "rejection_roc.png"
    publish_table_and_figure("rejection", asdict(result), figure, '"Not a digit" gate')
    return result
