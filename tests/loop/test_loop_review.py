"""Review: which logged predictions are offered, the form's markdown, answers to feedback rows,
and skips that keep a prediction from coming back."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from digitrec.loop import feedback, log, review
from digitrec.loop.feedback import NOT_A_DIGIT, FeedbackRow
from digitrec.storage import feedback_dir, log_dir
from tests.loop_records import digit_image, logged, write_log


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    return tmp_path


def test_the_most_doubtful_reviewable_predictions_come_first():
    write_log(
        logged(1, 0.95),
        logged(2, 0.40),
        logged(3, 0.99, rejected=True),
        logged(4, None, image=False),  # an input that failed: no image
        logged(5, 0.10, summary={"rows": 3}),  # a CSV batch summary
        logged(6, 0.70),
    )
    items = review.pick(3)
    assert [item.prediction_id for item in items] == [f"{i:032x}" for i in (3, 2, 6)]
    assert [item.key for item in items] == ["image_01", "image_02", "image_03"]
    assert [item.guess for item in items] == [NOT_A_DIGIT, "2", "6"]
    assert np.array_equal(items[1].pixels, digit_image(200))  # the image the model saw
    assert [item.prediction_id for item in review.pick(20)][-1] == f"{1:032x}"
    assert len(review.pick(20)) == 4


def test_a_number_gives_one_item_per_digit_with_its_own_guess():
    write_log(logged(7, 0.3, digits=3), logged(8, 0.5))
    items = review.pick(1)
    assert [(item.piece, item.pieces, item.guess) for item in items] == [
        (0, 3, "7"),
        (1, 3, "8"),
        (2, 3, "9"),
    ]
    assert [item.prediction_id for item in items] == [f"{7:032x}"] * 3
    assert all(np.array_equal(it.pixels, digit_image(700 + it.piece)) for it in items)
    assert "digit 2 of 3" in items[1].title and "guess 8 (30.0%)" in items[1].title


def test_a_corrupt_image_is_not_offered():
    bad, good = write_log(logged(9, 0.1), logged(10, 0.2))
    active = log_dir() / log.ACTIVE
    active.write_text(active.read_text().replace(bad.image_png, "bm90IGEgcG5n"))  # "not a png"
    assert [item.prediction_id for item in review.pick()] == [good.id]


def test_n_must_be_positive():
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        review.pick(0)


def test_labelled_or_skipped_predictions_are_not_offered_again():
    write_log(*(logged(i, confidence=i / 10) for i in range(1, 6)))
    first = review.pick(2)
    saved = review.save(first, {"image_01": "4", "image_02": "skip"}, "review", "ana")
    assert [row.label for row in saved.added] == ["4"]
    assert saved.skipped == [first[1].prediction_id]
    lines = (feedback_dir() / review.SKIPPED).read_text().splitlines()
    skips = [json.loads(line) for line in lines]
    assert skips[0]["prediction_id"] == first[1].prediction_id and skips[0]["reviewer"] == "ana"
    offered = [item.prediction_id for item in review.pick(10)]
    assert offered == [f"{i:032x}" for i in (3, 4, 5)]
    # A label from the app names its prediction too: that one is reviewed as well.
    app_row = FeedbackRow.new("3", digit_image(300), "app", "bo", prediction_id=offered[0])
    feedback.add([app_row])
    assert [item.prediction_id for item in review.pick(10)] == offered[1:]


def test_a_label_the_store_already_held_still_marks_the_prediction_reviewed():
    write_log(logged(1, 0.2))
    (item,) = review.pick()
    feedback.add([FeedbackRow.new("5", item.pixels, "cli", "cy")])  # same image, same label
    saved = review.save([item], {item.key: "5"}, "review", "ana")
    assert saved.added == [] and saved.skipped == [item.prediction_id]
    assert review.pick() == []
    assert review.outcome_rows([item], saved)[0]["outcome"] == "already in the store"


def test_unanswered_items_stay_for_a_later_review():
    write_log(logged(1, 0.1, digits=2), logged(2, 0.2))
    items = review.pick()
    assert len(items) == 3
    saved = review.save(items, {"image_01": "skip"}, "cli", "ana")  # quit after one answer
    assert saved.added == [] and saved.skipped == []
    assert len(review.pick()) == 3
    rows = review.outcome_rows(items, saved)
    assert [row["outcome"] for row in rows] == ["skipped", "not answered", "not answered"]


def test_answers_become_rows_with_the_prediction_and_the_guess():
    write_log(logged(1, 0.2), logged(2, 0.3, rejected=True))
    items = review.pick()  # the rejected one first
    answers = {"image_01": "2", "image_02": NOT_A_DIGIT}
    rows = review.rows_from(items, answers, "review", "ana")
    assert [(r.label, r.predicted, r.prediction_id) for r in rows] == [
        ("2", NOT_A_DIGIT, f"{2:032x}"),
        (NOT_A_DIGIT, "1", f"{1:032x}"),
    ]
    assert {r.source for r in rows} == {"review"} and {r.reviewer for r in rows} == {"ana"}
    assert rows[1].fingerprint == feedback.fingerprint(digit_image(100))
    saved = review.save(items, answers, "review", "ana")
    assert [row["outcome"] for row in review.outcome_rows(items, saved)] == ["stored"] * 2
    assert feedback.counts()["not_a_digit"] == 1


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"image_09": "3"}, "answer for 'image_09', which is not an item of this review"),
        ({"image_01": "seven"}, "image_01: answer 'seven' is not 0..9, 'not a digit' or 'skip'"),
    ],
)
def test_bad_answers_name_the_item_and_store_nothing(answers, message):
    write_log(logged(1, 0.2))
    with pytest.raises(ValueError, match=re.escape(message)):
        review.save(review.pick(), answers, "review", "ana")
    assert feedback.read() == [] and not (feedback_dir() / review.SKIPPED).exists()


def test_the_description_shows_each_image_scaled_up_and_escapes_names():
    write_log(logged(1, 0.25, name="<img src=x onerror=alert(1)>[a](b)*x*.png"), logged(2, 0.5))
    items = review.pick()
    text = review.describe(items)
    uris = re.findall(r"\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert len(uris) == 2
    with Image.open(io.BytesIO(base64.b64decode(uris[0]))) as image:
        pixels = np.asarray(image)
    assert pixels.shape == (112, 112)
    assert np.array_equal(pixels[::4, ::4], digit_image(100))  # nearest-neighbour 4x
    assert "<img" not in text and "[a](b)" not in text and "*x*" not in text
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;\\[a\\]\\(b\\)\\*x\\*\\.png" in text
    assert "**01.** guess 1 \\(25\\.0%\\)" in text
    assert "28x28 picture the model saw, scaled up 4x" in text
