"""Training profiles: which models the training flow compares, for how long, and what it
evaluates. Each profile is declared once in PROFILES; the flow's `profile` choices, the CLI's
choices and their help derive from it. Measured times and accuracies: bench/RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from digitrec.modeling.augmentation import Augmentation
from digitrec.modeling.training import TrainConfig

FEEDBACK_SHARE = 0.25  # of every augmented batch: people's corrections (bench/loop_learning.py)


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str  # one line for help texts and the flow's form
    baseline: TrainConfig  # the reference point
    candidates: tuple[TrainConfig, ...]  # improved models, compared on the same short budget
    augmented_epochs: int  # retraining the best candidate with augmentation
    augmented_learning_rate: float
    cv_folds: int  # 0: off
    cv_epochs: int
    validation_fraction: float = 0.1
    bootstrap_resamples: int = 1000
    members: int = 1  # ensemble members, each an augmented recipe (1: a single model)
    augmentation: Augmentation = Augmentation()  # of the augmented retraining
    # People's corrections: this share of every augmented batch, oversampled (0: mixed in as
    # ordinary rows). A few hundred corrections among 37,800 rows were otherwise 0.5% of a batch.
    feedback_share: float = FEEDBACK_SHARE
    # Continue from the champion for epochs x this many steps instead of training from scratch
    # (None: from scratch, through the baseline and the candidates).
    adapt_steps: int | None = None
    # The number reader (digitrec.modeling.number_reader), trained only when the champion has
    # none to carry over: steps of 64 synthetic numbers, each seen about four times.
    reader_steps: int = 3000


SHORT = 2  # epochs each model gets in the comparison
# The longer profiles' number reader: 9,000 steps read 5-8 points more numbers exactly than
# 3,000 (touching 62.0 -> 70.3%) for about 25 more minutes on 2 cores, paid once: every later
# run of any profile carries it over (bench/RESULTS.md, "Number reader").
LONG_READER = 9000
# A quarter of each augmented batch seen coarse: +1.2 to +2.5 points on other writers' 8x8
# digits in four comparisons (fast x3, standard), the hidden test within a seed's noise
# (+1 to -5 digits of 28,000; bench/RESULTS.md).
COARSE = Augmentation(low_resolution=0.25)

FAST = Profile(
    name="fast",
    summary="compact CNN, short schedule (the default)",
    baseline=TrainConfig(
        "baseline",
        epochs=1,
        batch_size=128,
        augmentation=None,
        label_smoothing=0.0,
        peak_learning_rate=2e-3,
    ),
    candidates=(
        TrainConfig(
            "compact",
            epochs=1,
            batch_size=256,
            augmentation=None,
            peak_learning_rate=6e-3,
        ),
    ),
    augmented_epochs=6,  # continuing from the candidate's one plain epoch
    augmented_learning_rate=6e-3,
    cv_folds=0,  # each fold is another full training: over this profile's budget
    cv_epochs=0,
    augmentation=COARSE,
)

STANDARD = Profile(
    name="standard",
    summary="compares a stronger CNN, longer schedule, 5-fold cross-validation",
    baseline=replace(FAST.baseline, epochs=SHORT),
    candidates=(
        replace(FAST.candidates[0], epochs=SHORT),
        TrainConfig(
            "strong",
            epochs=SHORT,
            batch_size=128,
            augmentation=None,
            peak_learning_rate=3e-3,
        ),
    ),
    augmented_epochs=30,
    augmented_learning_rate=3e-3,
    cv_folds=5,
    cv_epochs=4,
    augmentation=COARSE,
    reader_steps=LONG_READER,
)

ENSEMBLE = Profile(
    name="ensemble",
    summary="several CNNs trained in parallel on Dask and averaged",
    baseline=STANDARD.baseline,
    candidates=STANDARD.candidates,  # members take these architectures in turn, best first
    augmented_epochs=STANDARD.augmented_epochs,
    augmented_learning_rate=STANDARD.augmented_learning_rate,
    cv_folds=0,  # each fold would retrain every member
    cv_epochs=STANDARD.cv_epochs,
    members=5,
    augmentation=Augmentation(),  # not measured with coarse copies (a 57-minute run)
    reader_steps=LONG_READER,
)

ADAPT = Profile(
    name="adapt",
    summary="continue from the champion on people's corrections, about a minute",
    baseline=FAST.baseline,  # not trained: adapt starts from the champion's weights
    candidates=(replace(FAST.candidates[0], batch_size=128),),  # its batch size is adapt's
    augmented_epochs=3,  # of ADAPT_STEPS steps each
    augmented_learning_rate=1e-3,
    cv_folds=0,
    cv_epochs=0,
    augmentation=COARSE,
    adapt_steps=100,
)

PROFILES = {p.name: p for p in (FAST, STANDARD, ENSEMBLE, ADAPT)}
ProfileName = Literal[tuple(PROFILES)]  # the flow parameter's choices


def profiles_help() -> str:
    """'fast: ...; standard: ...' for help texts."""
    return "; ".join(f"{p.name}: {p.summary}" for p in PROFILES.values())


def get_profile(name: str, precision: str = "float32", **overrides) -> Profile:
    """A named profile whose models compute in `precision` (a Keras dtype policy, chosen for
    the CPU by digitrec.hardware), with None-valued overrides ignored."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}")
    profile = replace(PROFILES[name], **{k: v for k, v in overrides.items() if v is not None})
    return replace(
        profile,
        baseline=replace(profile.baseline, precision=precision),
        candidates=tuple(replace(c, precision=precision) for c in profile.candidates),
    )


def augmented_config(
    profile: Profile, best: TrainConfig, seed: int, batch_size: int | None
) -> TrainConfig:
    """The retraining recipe: the best candidate's architecture, with augmentation."""
    return replace(
        best,
        epochs=profile.augmented_epochs,
        peak_learning_rate=profile.augmented_learning_rate,
        augmentation=profile.augmentation,
        seed=seed,
        batch_size=batch_size or best.batch_size,
        emphasis_share=profile.feedback_share,
        steps_per_epoch=profile.adapt_steps,
    )


def cv_config(profile: Profile, final: TrainConfig) -> TrainConfig:
    """The recipe cross-validation retrains on each fold: the final one, for `cv_epochs`."""
    return replace(final, epochs=profile.cv_epochs or final.epochs)


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
