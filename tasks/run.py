"""Run tasks: the run folder, and the split every later step shares."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import hardware
from digitrec.data.sources import DataPaths
from digitrec.modeling.profiles import Profile
from digitrec.pipeline import retraining, run
from digitrec.pipeline.records import (
    ChampionStart,
    FeedbackData,
    RunContext,
    RunSummary,
    TrainingSettings,
)


@task(cache_policy=NO_CACHE)
def start_run(profile: str) -> Path:
    """A new, empty run folder under DIGITREC_HOME/runs."""
    run_dir = run.new_run_dir(profile)
    print(f"run folder: {run_dir}")
    return run_dir


@task(cache_policy=NO_CACHE)
def choose_precision(setting: str) -> hardware.Precision:
    """float32 or bfloat16 for this machine's CPU (`auto`: bfloat16 only where it is native)."""
    chosen = hardware.choose_precision(setting)
    print(f"CPU: {chosen.cpu.describe()}")
    print(f"precision: {chosen.precision} ({chosen.reason})")
    return chosen


@task(cache_policy=NO_CACHE)
def split_data(
    data: DataPaths,
    run_dir: Path,
    fraction: float,
    seed: int,
    feedback: FeedbackData,
    precision: hardware.Precision,
) -> RunContext:
    """The content-hash train/validation split every stage shares, plus the feedback's rows."""
    path = Path(feedback.path) if feedback.used and feedback.path else None
    return run.split_data(data, run_dir, fraction, seed, path, precision.policy)


@task(cache_policy=NO_CACHE)
def check_repeat(
    data: DataPaths,
    settings: TrainingSettings,
    start: ChampionStart | None,
    feedback: bool | None,
    force: bool,
) -> tuple[str, RunSummary | None]:
    """(this run's training key, a summary when the run would only repeat a registered version).

    A retraining on the same data files, reviewed feedback, code and settings as the champion
    (or any earlier version) would train the same model again: it ends here, Completed, saying
    so (unless `force`)."""
    key = retraining.training_key(data, settings, feedback, start)
    record = None if force else retraining.repeated_version(key)
    if record is None:
        return key, None
    summary = retraining.skipped_summary(record)
    print(summary.champion_reason)
    return key, summary


@task(cache_policy=NO_CACHE)
def champion_to_adapt(plan: Profile) -> ChampionStart | None:
    """The champion an `adapt` profile continues from (None: train from scratch, as before
    there is any champion)."""
    if plan.adapt_steps is None:
        return None
    start = retraining.champion_start()
    if start is None:
        print(f"{plan.name}: no champion to continue from yet; training the fast profile")
    else:
        print(f"{plan.name}: continuing from the champion {start.run_id} ({start.architecture})")
    return start
