"""Submission step: predict the test set into a verified Kaggle submission."""

from __future__ import annotations

import time

from digitrec.data.kaggle import load_answers, load_csv
from digitrec.evaluation.submission import score_submission, verify_submission, write_submission
from digitrec.pipeline.records import RunContext, Submission
from digitrec.pipeline.run import probabilities


def make_submission(model_path: str, run: RunContext) -> Submission:
    """Write and verify submission.csv; score it when held-back answers exist."""
    test = load_csv(run.data.test_csv, kind="test")
    started = time.perf_counter()
    labels = probabilities(model_path, test.images).argmax(1)
    seconds = time.perf_counter() - started
    path = write_submission(labels, run.run_dir / "submission.csv")
    verify_submission(path, expected_rows=len(test))
    answers = load_answers(run.data.answers_csv) if run.data.answers_csv else None
    return Submission(
        path=str(path),
        rows=len(test),
        predict_images_per_second=round(len(test) / seconds, 1),
        hidden_test_accuracy=score_submission(path, answers) if answers is not None else None,
    )
