"""Submission step: predict the test set into a verified Kaggle submission."""

from __future__ import annotations

import time

from digitrec.data.kaggle import load_answers, load_csv
from digitrec.evaluation.calibration import expected_calibration_error
from digitrec.evaluation.submission import score_submission, verify_submission, write_submission
from digitrec.pipeline.records import RunContext, Submission
from digitrec.pipeline.run import probabilities


def make_submission(model_path: str, run: RunContext) -> Submission:
    """Write and verify submission.csv; score it when held-back answers exist."""
    test = load_csv(run.data.test_csv, kind="test")
    started = time.perf_counter()
    probs = probabilities(model_path, test.images)  # (N, 10), calibrated
    seconds = time.perf_counter() - started
    labels = probs.argmax(1)
    path = write_submission(labels, run.run_dir / "submission.csv")
    verify_submission(path, expected_rows=len(test))
    answers = load_answers(run.data.answers_csv) if run.data.answers_csv else None
    scored = answers is not None
    raw = probabilities(model_path, test.images, calibrate=False) if scored else None
    return Submission(
        path=str(path),
        rows=len(test),
        predict_images_per_second=round(len(test) / seconds, 1),
        hidden_test_accuracy=score_submission(path, answers) if scored else None,
        hidden_test_ece=expected_calibration_error(probs, answers) if scored else None,
        hidden_test_ece_raw=expected_calibration_error(raw, answers) if scored else None,
    )
