"""The `train` flow: validate -> visualize -> baseline -> optimize -> augment -> export ->
calibrate -> not-a-digit gate -> evaluate -> submit -> register -> report -> track (MLflow).
Each step is a task that leaves files in the run folder and passes typed records (paths, small
values) to the next."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from prefect import flow
from prefect.transactions import transaction
from pydantic import Field

from digitrec.hardware import PrecisionSetting
from digitrec.modeling.profiles import (
    Profile,
    ProfileName,
    augmented_config,
    get_profile,
    member_recipes,
)
from digitrec.modeling.training import TrainConfig
from digitrec.pipeline.records import (
    ChampionStart,
    RunContext,
    RunSummary,
    StageResult,
    TrainingRun,
)
from digitrec.pipeline.training import ranked
from flows.ensemble import train_ensemble
from tasks.calibration import calibrate_model
from tasks.data import prepare_data, use_feedback, validate_data, visualize_data
from tasks.evaluation import evaluate_model
from tasks.export import export_model
from tasks.registration import register_model
from tasks.rejection import prepare_gate, train_rejector
from tasks.report import publish_report
from tasks.run import champion_to_adapt, check_repeat, choose_precision, split_data, start_run
from tasks.submission import make_submission
from tasks.tracking import track_run
from tasks.training import cross_validate, train_stage


def train_models(
    plan: Profile,
    run: RunContext,
    seed: int,
    batch_size: int | None,
    start: ChampionStart | None,
    dask_address: str | None,
) -> tuple[list[StageResult], StageResult, TrainConfig]:
    """Every model the run trains, the final one, and the final recipe."""
    if start is not None:
        # Continue from the champion: corrections are a fixed share of every batch, the rest
        # replays the base rows, so the new writers are learned and MNIST is not forgotten.
        recipe = replace(plan.candidates[0], architecture=start.architecture)
        recipe = augmented_config(plan, recipe, seed, batch_size)
        final = train_stage("adapted", recipe, run, start.model_path)
        return [final], final, recipe
    # Baseline, then improved candidates on the same short budget: the best one is retrained.
    baseline = train_stage("baseline", replace(plan.baseline, seed=seed), run)
    candidates = [
        train_stage(f"optimized-{c.architecture}", replace(c, seed=seed), run)
        for c in plan.candidates
    ]
    order = ranked(candidates)  # best first
    final_recipe = augmented_config(plan, plan.candidates[order[0]], seed, batch_size)
    if plan.members > 1:
        # Members train from scratch, in parallel on Dask workers, on the training rows only;
        # they take the compared architectures in turn, best first; one model averages them.
        recipes = member_recipes(plan, [plan.candidates[i] for i in order], seed, batch_size)
        trained, final = train_ensemble(recipes, run, dask_address)
    else:
        best = candidates[order[0]].model_path
        trained, final = [], train_stage("final-augmented", final_recipe, run, best)
    return [baseline, *candidates, *trained, final], final, final_recipe


@flow(name="train", log_prints=True, flow_run_name="train-{profile}")
def train(
    data_dir: str | None = None,
    profile: ProfileName = "fast",
    epochs: Annotated[int | None, Field(ge=1, le=200)] = None,
    batch_size: Annotated[int | None, Field(ge=8, le=4096)] = None,
    seed: int = 0,
    validation_fraction: Annotated[float | None, Field(gt=0, lt=0.5)] = None,
    cv_folds: Annotated[int | None, Field(ge=0, le=10)] = None,
    promote: bool = True,
    members: Annotated[int | None, Field(ge=2, le=64)] = None,
    dask_address: str | None = None,
    feedback: bool | None = None,
    force: bool = False,
    precision: PrecisionSetting = "auto",
) -> RunSummary:
    """Train, evaluate and register a digit classifier; returns the run's headline numbers.

    Args:
        data_dir: Kaggle Digit Recognizer folder with train.csv and test.csv; empty means
            $DIGITREC_DATA_DIR when set, else the embedded MNIST.
        profile: Training profile (digitrec.modeling.profiles): fast (compact CNN, the
            default), standard (stronger CNN, longer schedule, cross-validation), ensemble
            (several CNNs trained in parallel on Dask and averaged) or adapt (continue from the
            champion on people's corrections, about a minute; fast when there is no champion).
        epochs: Override the epochs of the augmented retraining.
        batch_size: Override the batch size of the augmented retraining.
        seed: Seed for the validation split, initialisation and augmentation.
        validation_fraction: Override the share of train.csv held out for validation.
        cv_folds: Override the stratified k-fold cross-validation folds (0 turns it off).
        promote: Make the model champion if it passes the champion gate on every slice.
        members: Train this many members and average them (default 5 in the ensemble
            profile, a single model elsewhere).
        dask_address: Scheduler of an existing Dask cluster for the ensemble members (else
            DIGITREC_DASK_ADDRESS, else a local cluster sized to this machine's cores).
        feedback: Train on the feedback store's reviewed digits too, and score on its fixed
            held-out quarter (empty: whenever the store has rows).
        force: Train even when the data, reviewed feedback, code and settings equal those the
            champion was trained with (otherwise such a run ends at once, returning the
            champion's numbers).
        precision: What the models compute in: auto (bfloat16 only where the CPU computes it
            natively, else float32; empty setting: $DIGITREC_PRECISION), float32 or bfloat16.
    """
    chosen = choose_precision(precision)
    overrides = {
        "augmented_epochs": epochs, "validation_fraction": validation_fraction,
        "cv_folds": cv_folds, "members": members,
    }  # fmt: skip
    plan = get_profile(profile, chosen.policy, **overrides)
    start = champion_to_adapt(plan)
    if plan.adapt_steps and start is None:  # nothing to continue from yet
        plan = get_profile("fast", chosen.policy, **overrides)
    data = prepare_data(data_dir)
    settings = {
        "profile": profile, "epochs": epochs, "batch_size": batch_size, "seed": seed,
        "validation_fraction": validation_fraction, "cv_folds": cv_folds, "members": members,
        "precision": chosen.precision, "start": start.model_path if start else None,
    }  # fmt: skip
    key, repeated = check_repeat(data, settings, feedback, force)
    if repeated is not None:
        return repeated
    run_dir = start_run(profile)
    validation = validate_data(data, run_dir)
    visualize_data(data, run_dir)
    reviewed = use_feedback(run_dir, feedback)
    run = split_data(data, run_dir, plan.validation_fraction, seed, reviewed, chosen)
    gate_inputs = prepare_gate.submit(run)  # rendered on a spare core while the models train
    stages, final, final_recipe = train_models(plan, run, seed, batch_size, start, dask_address)
    model = export_model(final, run)
    calibration = calibrate_model(model.model_path, run)  # every later score uses it
    rejection = train_rejector(model.model_path, run, gate_inputs)

    evaluation = evaluate_model(model.model_path, run, stages, plan.bootstrap_resamples)
    cv = None
    if plan.cv_folds >= 2:
        cv_recipe = replace(final_recipe, epochs=plan.cv_epochs or final_recipe.epochs)
        cv = cross_validate(cv_recipe, run, plan.cv_folds)
        cv_note = (
            f"Cross-validation retrains the final recipe ({cv_recipe.architecture}, "
            f"{cv_recipe.epochs} augmented epochs) from scratch on each of {plan.cv_folds} folds."
        )
    else:
        cv_note = (
            f"Cross-validation is off in the {profile} profile: each fold is another full "
            "training, over this profile's time budget. Set cv_folds to turn it on."
        )
    submission = make_submission(model.model_path, run)
    # One transaction: if the report or tracking fails after a promotion, champion moves back.
    with transaction():
        registration = register_model(
            run, final, evaluation, submission, profile, promote, reviewed, key
        )
        outcome = TrainingRun(
            profile,
            data,
            validation,
            stages,
            calibration,
            rejection,
            evaluation,
            cv,
            cv_note,
            submission,
            registration,
            chosen,
        )
        report = publish_report(run_dir, outcome)
        track_run(registration.mlflow_run_id, run_dir, outcome)  # after the report: it is logged
    return RunSummary(
        run_dir=str(run_dir),
        report=report,
        model=registration.model_path,
        submission=submission.path,
        val_accuracy=evaluation.holdout.accuracy,
        hidden_test_accuracy=submission.hidden_test_accuracy,
        champion=registration.promoted,
        champion_reason=registration.reason,
    )
