"""When the numbers mean "retrain": named thresholds (the flow's parameters override each) and
the verdict. A window too small to judge says so and never raises an alarm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Defaults, each a flow parameter of `monitor`.
MIN_PREDICTIONS = 100  # fewer answered predictions (or images, for input drift): no verdict
KS_P = 0.01  # an image statistic drifted when its KS p-value is below this ...
# ... and the distributions differ by more than this KS D (an effect size, so a large window
# does not alarm on a shift too small to matter). Measured on MNIST: 1,000 random images against
# the 10,000-image reference D <= 0.035; other writers (MNIST's test writers) up to 0.10;
# thickened strokes 0.46, inverted images 0.56.
KS_STATISTIC = 0.15
PSI_LIMIT = 0.2  # predicted-class PSI above this: a large shift from the training prior
REJECTION_LIMIT = 0.10  # the gate rejects ~0.4% of real digits; 10% means inputs changed
LOW_CONFIDENCE_LIMIT = 0.25  # share of answers under 0.80 confidence

Status = Literal["drift", "ok", "not enough data"]


@dataclass(frozen=True)
class Thresholds:
    """The limits a monitor run judges by (documented defaults above)."""

    min_predictions: int = MIN_PREDICTIONS
    ks_p: float = KS_P
    ks_statistic: float = KS_STATISTIC
    psi: float = PSI_LIMIT
    rejection_rate: float = REJECTION_LIMIT
    low_confidence_rate: float = LOW_CONFIDENCE_LIMIT

    def __post_init__(self) -> None:
        if self.min_predictions < 1:
            raise ValueError(f"min_predictions must be >= 1, got {self.min_predictions}")
        for name in ("ks_p", "ks_statistic", "rejection_rate", "low_confidence_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in (0, 1], got {getattr(self, name)}")
        if self.psi <= 0:
            raise ValueError(f"psi must be > 0, got {self.psi}")


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[str, ...]  # each crossed threshold, or why there is no verdict

    @property
    def drift(self) -> bool:
        return self.status == "drift"


@dataclass(frozen=True)
class Measured:
    """The numbers the verdict reads (a flat view of a monitor report)."""

    answered: int
    rejection_rate: float | None
    low_confidence_rate: float | None
    psi: float | None
    features: tuple[tuple[str, float | None, float | None, int], ...]  # name, KS D, KS p, n


def judge(measured: Measured, limits: Thresholds) -> Verdict:
    """ "drift" with every crossed threshold named, "ok", or "not enough data"."""
    if measured.answered < limits.min_predictions:
        return Verdict(
            "not enough data",
            (f"{measured.answered} answered predictions, need {limits.min_predictions}",),
        )
    reasons = []
    if (rate := measured.rejection_rate) is not None and rate > limits.rejection_rate:
        reasons.append(f"rejection rate {rate:.3f} > {limits.rejection_rate}")
    if (rate := measured.low_confidence_rate) is not None and rate > limits.low_confidence_rate:
        reasons.append(f"low-confidence rate {rate:.3f} > {limits.low_confidence_rate}")
    if measured.psi is not None and measured.psi > limits.psi:
        reasons.append(f"predicted-class PSI {measured.psi:.3f} > {limits.psi}")
    for name, statistic, p, samples in measured.features:
        if statistic is None or p is None or samples < limits.min_predictions:
            continue  # too few images to test this statistic
        if p < limits.ks_p and statistic > limits.ks_statistic:
            reasons.append(
                f"{name}: KS D {statistic:.3f} > {limits.ks_statistic}, p {p:.2g} < {limits.ks_p}"
            )
    return Verdict("drift", tuple(reasons)) if reasons else Verdict("ok", ())
