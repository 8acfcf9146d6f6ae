"""Training profiles: which models the training flow compares, for how long, and what it
evaluates. Targets (2 CPU cores) live in DESIGN.md; measured figures in bench/RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass, replace

from digitrec.training import Augmentation, TrainConfig


@dataclass(frozen=True)
class Profile:
    name: str
    baseline: TrainConfig  # the reference point
    candidates: tuple[TrainConfig, ...]  # improved models, compared on the same short budget
    augmented_epochs: int  # retraining the best candidate with augmentation
    augmented_learning_rate: float
    cv_folds: int  # 0: off
    cv_epochs: int
    validation_fraction: float = 0.1
    bootstrap_resamples: int = 1000
    members: int = 1  # ensemble members, each an augmented recipe (1: a single model)


SHORT = 2  # epochs each model gets in the comparison

FAST = Profile(
    name="fast",
    baseline=TrainConfig(
        "baseline",
        epochs=SHORT,
        batch_size=128,
        augmentation=None,
        label_smoothing=0.0,
        peak_learning_rate=2e-3,
    ),
    candidates=(
        TrainConfig(
            "compact", epochs=SHORT, batch_size=256, augmentation=None, peak_learning_rate=6e-3
        ),
    ),
    augmented_epochs=8,
    augmented_learning_rate=6e-3,
    cv_folds=0,  # 5 folds would cost about 5 more trainings: over the 6-minute budget
    cv_epochs=0,
)

STANDARD = Profile(
    name="standard",
    baseline=FAST.baseline,
    candidates=(
        FAST.candidates[0],
        TrainConfig(
            "strong", epochs=SHORT, batch_size=128, augmentation=None, peak_learning_rate=3e-3
        ),
    ),
    augmented_epochs=30,
    augmented_learning_rate=3e-3,
    cv_folds=5,
    cv_epochs=4,
)

ENSEMBLE = Profile(
    name="ensemble",
    baseline=FAST.baseline,
    candidates=STANDARD.candidates,  # members take these architectures in turn, best first
    augmented_epochs=STANDARD.augmented_epochs,
    augmented_learning_rate=STANDARD.augmented_learning_rate,
    cv_folds=0,  # each fold would retrain every member
    cv_epochs=STANDARD.cv_epochs,
    members=5,
)

PROFILES = {p.name: p for p in (FAST, STANDARD, ENSEMBLE)}


def get_profile(name: str, **overrides) -> Profile:
    """A named profile with None-valued overrides ignored."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}")
    return replace(PROFILES[name], **{k: v for k, v in overrides.items() if v is not None})


def augmented_config(
    profile: Profile, best: TrainConfig, seed: int, batch_size: int | None
) -> TrainConfig:
    """The retraining recipe: the best candidate's architecture, with augmentation."""
    return replace(
        best,
        epochs=profile.augmented_epochs,
        peak_learning_rate=profile.augmented_learning_rate,
        augmentation=Augmentation(),
        seed=seed,
        batch_size=batch_size or best.batch_size,
    )


def member_recipes(
    profile: Profile, ranked: list[TrainConfig], seed: int, batch_size: int | None
) -> list[TrainConfig]:
    """Ensemble members: the compared architectures in turn (best first), each retrained with
    augmentation under its own seed. Members of one architecture made largely the same mistakes
    (bench/RESULTS.md), so the ensemble mixes architectures rather than only seeds."""
    return [
        augmented_config(profile, ranked[i % len(ranked)], seed + i, batch_size)
        for i in range(profile.members)
    ]
