"""`digitrec label` driven through stdin and `digitrec feedback`, each in a fresh process."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from digitrec.loop import feedback, review
from digitrec.loop.feedback import NOT_A_DIGIT
from digitrec.loop.store import png_base64
from tests.loop_records import digit_image, logged, write_log


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    monkeypatch.delenv("DIGITREC_RETRAIN_AFTER_LABELS", raising=False)
    return tmp_path


def digitrec(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ | env,
        timeout=120,
    )


def test_label_stores_answers_records_skips_and_keeps_the_rest(home):
    # Least confident first: p3 (rejected), p1, then p2, a number of two digits.
    write_log(logged(1, 0.3), logged(2, 0.5, digits=2), logged(3, 0.9, rejected=True))
    started = time.monotonic()
    result = digitrec("label", "--reviewer", "ana", stdin="7\nx\nn\ns\nq\n")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1/4] 01. p3.png: guess not a digit (90.0%)" in out
    assert "[3/4] 03. p2.png digit 1 of 2: guess 2 (50.0%)" in out
    assert "expected one of 0-9, n, s, q; got 'x'" in out
    assert "stored 2 labels, skipped 0 predictions, 1 of 4 images left for later" in out
    # No server to tell: the CLI says so at once instead of starting a temporary one.
    assert "digitrec.feedback.added: not sent: PREFECT_API_URL is not set" in out
    assert seconds < 30, f"label took {seconds:.1f} s"
    rows = feedback.read()
    assert [(r.label, r.predicted, r.source, r.reviewer) for r in rows] == [
        ("7", NOT_A_DIGIT, "cli", "ana"),
        (NOT_A_DIGIT, "1", "cli", "ana"),
    ]
    assert rows[0].fingerprint == feedback.fingerprint(digit_image(300))
    # The number was skipped on one digit and never answered on the other: it comes back.
    assert [item.input for item in review.pick()] == ["p2.png", "p2.png"]


def test_label_shows_the_image_the_model_saw():
    bar = np.zeros((28, 28), dtype=np.uint8)  # (28, 28): a "1", a bright bar on black
    bar[4:24, 12:16] = 255
    write_log(dataclasses.replace(logged(1, 0.3), image_png=png_base64(bar)))
    result = digitrec("label", stdin="s\n")
    lines = result.stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("[1/1] 01. p1.png: guess 1")]
    block = lines[start + 1 : start + 15]  # two pixel rows per line
    assert block == [""] * 2 + [" " * 12 + "@@@@"] * 10 + [""] * 2
    assert "stored 0 labels, skipped 1 predictions, 0 of 1 images left for later" in result.stdout
    assert review.pick() == [] and feedback.read() == []


def test_label_with_nothing_to_review_says_so():
    result = digitrec("label")
    assert result.returncode == 0 and "nothing to review" in result.stdout


def test_feedback_json_counts_and_export(home):
    write_log(logged(1, 0.3), logged(2, 0.4), logged(3, 0.5))
    items = review.pick()
    answers = {"image_01": "4", "image_02": NOT_A_DIGIT, "image_03": "4"}
    assert [item.key for item in items] == list(answers)
    review.save(items, answers, "cli", "bo")
    path = home / "out" / "labels.csv"
    result = digitrec(
        "feedback", "--json", "--export-csv", str(path), DIGITREC_RETRAIN_AFTER_LABELS="3"
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()  # one JSON object
    status = json.loads(line)
    assert status == {
        "total": 3,
        "per_label": {**{str(d): 0 for d in range(10)}, "4": 2},
        "not_a_digit": 1,
        "since_champion": 3,
        "champion_created": None,
        "threshold": 3,
        "retrain_due": True,
        "exported": {"path": str(path), "rows": 2},
    }
    with path.open() as handle:
        assert [row["label"] for row in csv.DictReader(handle)] == ["4", "4"]
    plain = digitrec("feedback")
    assert "labelled images  3" in plain.stdout and "retraining due   no" in plain.stdout


def test_feedback_names_a_bad_threshold():
    result = digitrec("feedback", DIGITREC_RETRAIN_AFTER_LABELS="many")
    assert result.returncode == 2
    assert "DIGITREC_RETRAIN_AFTER_LABELS='many'" in result.stderr
