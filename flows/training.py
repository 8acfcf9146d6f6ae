"""The `train` flow: validate -> visualize -> baseline -> optimize -> augment -> export ->
calibrate -> not-a-digit gate -> number reader -> evaluate -> submit -> register -> report ->
track (MLflow).
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
    cv_config,
    member_recipes,
)
from digitrec.modeling.training import TrainConfig
from digitrec.pipeline.records import (
    ChampionStart,
    RunContext,
    RunSummary,
    StageResult,
    TrainingRun,
    TrainingSettings,
)
from digitrec.pipeline.report import run_summary
from digitrec.pipeline.training import cv_note, ranked
from flows.ensemble import train_ensemble
from tasks.calibration import calibrate_model
from tasks.data import prepare_data, use_feedback, validate_data, visualize_data
from tasks.evaluation import evaluate_model
from tasks.export import export_model
from tasks.numbers import read_numbers
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
    settings: TrainingSettings,
    start: ChampionStart | None,
    dask_address: str | None,
) -> tuple[list[StageResult], StageResult, TrainConfig]:
    """Every model the run trains, the final one, and the final recipe."""
    seed, batch_size = settings.seed, settings.batch_size
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
    chosen = choose_precision(setting=precision)
    settings = TrainingSettings(
        profile=profile, seed=seed, epochs=epochs, batch_size=batch_size,
        validation_fraction=validation_fraction, cv_folds=cv_folds, members=members,
        precision=chosen.precision,
    )  # fmt: skip
    plan = settings.plan()
    start = champion_to_adapt(plan=plan)
    if plan.adapt_steps and start is None:  # nothing to continue from yet
        plan = settings.plan("fast")
    data = prepare_data(data_dir=data_dir)
    key, repeated = check_repeat(
        data=data, settings=settings, start=start, feedback=feedback, force=force
    )
    if repeated is not None:
        return repeated
    run_dir = start_run(profile=profile)
    validation = validate_data(paths=data, run_dir=run_dir)
    visualize_data(paths=data, run_dir=run_dir)
    reviewed = use_feedback(run_dir=run_dir, use=feedback)
    run = split_data(
        data=data, run_dir=run_dir, fraction=plan.validation_fraction, seed=seed,
        feedback=reviewed, precision=chosen,
    )  # fmt: skip
    gate_inputs = prepare_gate.submit(run=run)  # rendered on a spare core while models train
    stages, final, final_recipe = train_models(
        plan=plan, run=run, settings=settings, start=start, dask_address=dask_address
    )
    model = export_model(final=final, run=run)
    calibration = calibrate_model(model_path=model.model_path, run=run)  # later scores use it
    rejection = train_rejector(model_path=model.model_path, run=run, inputs=gate_inputs)
    numbers = read_numbers(model_path=model.model_path, run=run, steps=plan.reader_steps)
    evaluation = evaluate_model(
        model_path=model.model_path, run=run, stages=stages,
        bootstrap_resamples=plan.bootstrap_resamples,
    )  # fmt: skip
    cv_recipe = cv_config(plan, final_recipe)
    cv = None
    if plan.cv_folds >= 2:  # each fold is another full training
        cv = cross_validate(config=cv_recipe, run=run, folds=plan.cv_folds)
    submission = make_submission(model_path=model.model_path, run=run)
    # One transaction: if the report or tracking fails after a promotion, champion moves back.
    with transaction():
        registration = register_model(
            run=run, final=final, evaluation=evaluation, submission=submission,
            profile=profile, promote=promote, feedback=reviewed, training_key=key,
        )  # fmt: skip
        outcome = TrainingRun(
            profile=profile, data=data, validation=validation, stages=stages,
            calibration=calibration, rejection=rejection, evaluation=evaluation,
            cross_validation=cv, cv_note=cv_note(profile, plan.cv_folds, cv_recipe),
            submission=submission, registration=registration, precision=chosen,
            numbers=numbers,
        )  # fmt: skip
        report = publish_report(run_dir=run_dir, outcome=outcome)
        track_run(mlflow_run_id=registration.mlflow_run_id, run_dir=run_dir, outcome=outcome)
    return run_summary(run_dir=run_dir, report=report, outcome=outcome)
