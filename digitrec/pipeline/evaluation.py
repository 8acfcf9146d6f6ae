"""Evaluation step: the final model on the validation split, with its figures."""

from __future__ import annotations

import numpy as np

from digitrec.arrays import accuracy
from digitrec.evaluation import figures, metrics
from digitrec.pipeline.data import save_figures
from digitrec.pipeline.records import Evaluation, RunContext, StageResult, plain
from digitrec.pipeline.run import feedback_holdout, probabilities, validation_rows
from digitrec.storage import write_json_atomic

# "Check these labels": a correction the trained model still reads as another digit, giving
# its label at most this probability, is listed, never dropped.
AUDIT_LABEL_PROBABILITY = 0.05


def evaluate_model(
    model_path: str, run: RunContext, stages: list[StageResult], bootstrap_resamples: int
) -> Evaluation:
    """Accuracy estimates, confusion matrix, per-digit report, mistakes and comparison figures."""
    x_val, y_val = validation_rows(run)
    probs = probabilities(model_path, x_val)  # (N_val, 10)
    y_pred = probs.argmax(1)
    cm = metrics.confusion(y_val, y_pred)
    wrong = metrics.misclassified_indices(y_val, probs)
    holdout = metrics.accuracy_summary(y_val, probs, seed=run.seed, resamples=bootstrap_resamples)
    x_fb, y_fb = feedback_holdout(run)
    feedback_accuracy = accuracy(y_fb, probabilities(model_path, x_fb)) if len(y_fb) else None
    result = Evaluation(
        holdout=holdout,
        confusion_matrix=cm.tolist(),
        classification_report=metrics.classification_table(y_val, y_pred),
        most_confused=metrics.most_confused_pairs(cm),
        comparison=[stage.comparison_row() for stage in stages],
        feedback_accuracy=feedback_accuracy,
        feedback_rows=len(y_fb),
        label_audit=audit_labels(model_path, run),
    )
    save_figures(
        run.run_dir,
        {
            "confusion_matrix": figures.confusion_figure(cm),
            "misclassified": figures.misclassified_gallery(
                x_val[wrong], y_val[wrong], y_pred[wrong], probs[wrong, y_pred[wrong]]
            ),
            "training_curves": figures.training_curves({s.stage: s.history for s in stages}),
            "model_comparison": figures.model_comparison(result.comparison),
        },
    )
    write_json_atomic(run.run_dir / "evaluation.json", plain(result))
    return result


def audit_labels(model_path: str, run: RunContext) -> tuple[dict, ...]:
    """The reviewed training rows the trained model still strongly contradicts: a person's
    label may be wrong (or the model is), so the report asks to check them."""
    if run.feedback_path is None:
        return ()
    with np.load(run.feedback_path) as saved:
        if "train_ids" not in saved or not len(saved["train_labels"]):
            return ()
        images, labels, ids = saved["train_images"], saved["train_labels"], saved["train_ids"]
    probs = probabilities(model_path, images)  # (K, 10)
    read = probs.argmax(1)
    given = probs[np.arange(len(labels)), labels]  # (K,) the label's probability
    doubted = (read != labels) & (given <= AUDIT_LABEL_PROBABILITY)  # (K,) bool
    return tuple(
        {"feedback_id": str(ids[i]), "label": int(labels[i]), "model_reads": int(read[i]),
         "confidence": round(float(probs[i].max()), 4),
         "label_probability": round(float(given[i]), 4)}
        for i in np.flatnonzero(doubted)
    )  # fmt: skip
