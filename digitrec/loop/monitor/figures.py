"""Monitoring figures as small PNG bytes for markdown artifacts: the inputs (each image
statistic, window against reference) and the outputs (predicted classes against the prior,
the confidence histogram). matplotlib's object API on an Agg canvas: no pyplot state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitrec.constants import DIGITS
from digitrec.loop.monitor.features import FEATURE_HELP, FEATURES
from digitrec.loop.monitor.stats import CONFIDENCE_BINS, ClassShift, finite
from digitrec.plotting import new_figure, to_png

BINS = 30


def inputs_figure(window: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> bytes:
    """One panel per image statistic: the window's and the reference's densities overlaid."""
    figure = new_figure(3.0 * len(FEATURES), 2.6)
    for axes, name in zip(figure.subplots(1, len(FEATURES)), FEATURES, strict=True):
        ours, theirs = finite(window[name]), finite(reference[name])
        both = np.concatenate([ours, theirs])
        edges = np.linspace(both.min(), both.max() + 1e-9, BINS + 1) if both.size else BINS
        axes.hist(theirs, bins=edges, density=True, alpha=0.5, label="training")
        if ours.size:
            axes.hist(ours, bins=edges, density=True, alpha=0.5, label="window")
        axes.set_title(name, fontsize=9)
        axes.set_xlabel(FEATURE_HELP[name], fontsize=7)
        axes.tick_params(labelsize=7)
    figure.axes[0].legend(fontsize=7)
    return to_png(figure)


def outputs_figure(classes: ClassShift, prior: Sequence[float], histogram: Sequence[int]) -> bytes:
    """Predicted-class shares against the training prior; the confidence histogram."""
    figure = new_figure(9.0, 2.8)
    bars, confidence = figure.subplots(1, 2)
    total = max(sum(classes.counts), 1)
    x = np.arange(len(DIGITS))
    bars.bar(x - 0.2, prior, width=0.4, label="training prior")
    bars.bar(x + 0.2, np.asarray(classes.counts) / total, width=0.4, label="window")
    bars.set_xticks(x, [str(d) for d in DIGITS])
    psi = "n/a" if classes.psi is None else f"{classes.psi:.3f}"
    bars.set_title(f"predicted digits (PSI {psi})", fontsize=9)
    bars.legend(fontsize=7)
    centres = (np.arange(CONFIDENCE_BINS) + 0.5) / CONFIDENCE_BINS
    confidence.bar(centres, histogram, width=1 / CONFIDENCE_BINS * 0.9)
    confidence.axvline(0.8, color="tab:red", linestyle="--", linewidth=1)
    confidence.set_title("confidence (dashed: low-confidence limit 0.80)", fontsize=9)
    confidence.set_xlim(0, 1)
    return to_png(figure)
