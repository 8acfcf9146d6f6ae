"""Figures about trusting an answer: the reliability diagram (does 90% confident mean 90%
right?) and the ROC of "not a digit" rejection."""

from __future__ import annotations

import numpy as np

from digitrec.evaluation.figures import PANEL_COLORS, new_figure, to_png


def reliability_diagram(tables: dict[str, list[dict]]) -> bytes:
    """Accuracy against confidence per bin, one line per table (e.g. before/after calibration);
    the diagonal is perfect calibration."""
    if not tables:
        raise ValueError("reliability_diagram needs at least one table")
    figure = new_figure(4.2, 3.6)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for i, (name, rows) in enumerate(tables.items()):
        filled = [row for row in rows if row["rows"]]
        confidence = [row["confidence"] for row in filled]
        accuracy = [row["accuracy"] for row in filled]
        ax.plot(confidence, accuracy, marker="o", color=PANEL_COLORS[i % 6], label=name)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Reliability (validation split)", fontsize=10)
    return to_png(figure)


def rejection_roc(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], marks: dict[str, tuple]
) -> bytes:
    """Share of non-digits rejected against share of digits rejected, one curve per score;
    `marks` are labelled operating points (x, y)."""
    if not curves:
        raise ValueError("rejection_roc needs at least one curve")
    figure = new_figure(4.2, 3.6)
    ax = figure.add_subplot()
    for i, (name, (fpr, tpr)) in enumerate(curves.items()):
        ax.plot(fpr, tpr, color=PANEL_COLORS[i % 6], label=name)
    for name, (x, y) in marks.items():
        ax.plot([x], [y], marker="o", color="black")
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("digits rejected (log scale above 1%)")
    ax.set_ylabel("non-digits rejected")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title('"Not a digit" rejection', fontsize=10)
    return to_png(figure)
