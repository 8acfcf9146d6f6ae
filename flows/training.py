"""The `train` flow: validate -> visualize -> baseline -> optimize -> augment -> evaluate ->
submit -> register -> report. Each step is a task that leaves files in the run folder."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from digitrec import steps
from digitrec.profiles import augmented_config, get_profile, member_recipes
from flows.ensemble import train_ensemble
from tasks.data import prepare_data, validate_data, visualize_data
from tasks.evaluation import evaluate_model
from tasks.registry import register_model
from tasks.report import publish_report
from tasks.submission import make_submission
from tasks.training import cross_validate, export_model, split_data, train_stage


@task(cache_policy=NO_CACHE)
def start_run(profile: str):
    """A new, empty run folder under DIGITREC_HOME/runs."""
    run_dir = steps.new_run_dir(profile)
    print(f"run folder: {run_dir}")
    return run_dir


@flow(name="train", log_prints=True, flow_run_name="train-{profile}")
def train(
    data_dir: str | None = None,
    profile: Literal["fast", "standard", "ensemble"] = "fast",
    epochs: Annotated[int | None, Field(ge=1, le=200)] = None,
    batch_size: Annotated[int | None, Field(ge=8, le=4096)] = None,
    seed: int = 0,
    validation_fraction: Annotated[float | None, Field(gt=0, lt=0.5)] = None,
    cv_folds: Annotated[int | None, Field(ge=0, le=10)] = None,
    promote: bool = True,
    members: Annotated[int | None, Field(ge=2, le=64)] = None,
    dask_address: str | None = None,
) -> dict:
    """Train, evaluate and register a digit classifier; returns the run's headline numbers.

    Args:
        data_dir: Kaggle Digit Recognizer folder with train.csv and test.csv; empty means the
            embedded MNIST.
        profile: fast (compact CNN, about 5 minutes on 2 cores), standard (stronger CNN,
            longer schedule, cross-validation) or ensemble (several CNNs, the compared
            architectures in turn, trained in parallel on Dask and averaged).
        epochs: Override the epochs of the augmented retraining.
        batch_size: Override the batch size of the augmented retraining.
        seed: Seed for the validation split, initialisation and augmentation.
        validation_fraction: Override the share of train.csv held out for validation.
        cv_folds: Override the stratified k-fold cross-validation folds (0 turns it off).
        promote: Make the model champion if it beats the current champion.
        members: Train this many members and average them (default 5 in the ensemble
            profile, a single model elsewhere).
        dask_address: Scheduler of an existing Dask cluster for the ensemble members (else
            DIGITREC_DASK_ADDRESS, else a local cluster sized to this machine's cores).
    """
    plan = get_profile(
        profile,
        augmented_epochs=epochs,
        validation_fraction=validation_fraction,
        cv_folds=cv_folds,
        members=members,
    )
    run_dir = start_run(profile)
    data = prepare_data(data_dir)
    validation = validate_data(data["train_csv"], data["test_csv"], run_dir)
    visualize_data(data["train_csv"], run_dir)
    split = split_data(data["train_csv"], plan.validation_fraction, seed, run_dir)

    # Baseline, then improved candidates on the same short budget: the best one is retrained.
    stages = [
        train_stage(
            "baseline", replace(plan.baseline, seed=seed), data["train_csv"], split, run_dir
        )
    ]
    candidates = [
        train_stage(
            f"optimized-{c.architecture}", replace(c, seed=seed), data["train_csv"], split, run_dir
        )
        for c in plan.candidates
    ]
    order = steps.ranked(candidates)  # best first
    best = candidates[order[0]]
    final_config = augmented_config(plan, plan.candidates[order[0]], seed, batch_size)
    stages += candidates
    if plan.members > 1:
        # Members train from scratch, in parallel on Dask workers, on the training rows only;
        # they take the compared architectures in turn, best first; one model averages them.
        recipes = member_recipes(plan, [plan.candidates[i] for i in order], seed, batch_size)
        trained = train_ensemble(recipes, data["train_csv"], split, run_dir, dask_address)
        final = trained["ensemble"]
        stages += [*trained["members"], final]
    else:
        final = train_stage(
            "final-augmented",
            final_config,
            data["train_csv"],
            split,
            run_dir,
            initial_model=best["model_path"],
        )
        stages.append(final)
    model = export_model(final, data["train_csv"], split, run_dir)

    metrics = evaluate_model(
        model["model_path"],
        data["train_csv"],
        split,
        run_dir,
        stages,
        seed,
        plan.bootstrap_resamples,
    )
    cv, cv_note = None, None
    if plan.cv_folds >= 2:
        recipe = replace(final_config, epochs=plan.cv_epochs or final_config.epochs)
        cv = cross_validate(recipe, data["train_csv"], plan.cv_folds, seed, run_dir)
        cv_note = (
            f"Cross-validation retrains the final recipe ({recipe.architecture}, "
            f"{recipe.epochs} augmented epochs) from scratch on each of {plan.cv_folds} folds."
        )
    else:
        cv_note = (
            f"Cross-validation is off in the {profile} profile: each fold is another full "
            "training, over this profile's time budget. Set cv_folds to turn it on."
        )
    submission = make_submission(
        model["model_path"], data["test_csv"], data["answers_csv"], run_dir
    )
    registration = register_model(
        run_dir, final, data, metrics, submission, split, promote, profile
    )
    context = {
        "profile": profile,
        "data": data,
        "validation": validation,
        "stages": stages,
        "evaluation": metrics,
        "cross_validation": cv,
        "cv_note": cv_note,
        "submission": submission,
        "registration": registration,
    }
    report = publish_report(run_dir, context)
    return {
        "run_dir": str(run_dir),
        "report": report,
        "model": registration["model_path"],
        "submission": submission["path"],
        "val_accuracy": metrics["holdout"]["accuracy"],
        "hidden_test_accuracy": submission["hidden_test_accuracy"],
        "champion": registration["promoted"],
        "champion_reason": registration["reason"],
    }
