"""A review queue worth a person's time: the most doubtful by margin, a seeded random share
marked as random checks (in the form, and in the feedback rows, which older lines without the
marker still load as), and the monitor's unbiased accuracy estimate from those checks."""

from __future__ import annotations

import dataclasses
import json

import pytest

from digitrec.loop import feedback, review, triage
from digitrec.loop.feedback import NOT_A_DIGIT, FeedbackRow
from digitrec.loop.log import LoggedPrediction
from digitrec.loop.monitor.accuracy import RandomChecks, random_checks, sentence
from digitrec.storage import feedback_dir
from tests.loop_records import digit_image, logged, write_log


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    return tmp_path


def ranked(i: int, *probabilities: float, **kwargs) -> LoggedPrediction:
    """Prediction `i` with these top-k probabilities (best first) logged."""
    top_k = [{"digit": d, "name": str(d), "probability": p} for d, p in enumerate(probabilities)]
    return dataclasses.replace(logged(i, probabilities[0], **kwargs), top_k=top_k)


def ids(*numbers: int) -> list[str]:
    return [f"{i:032x}" for i in numbers]


# Ranking by margin


def test_margin_not_confidence_decides_who_is_most_doubtful():
    sure_runner_up = ranked(1, 0.60, 0.05, 0.01)  # margin 0.55
    close_call = ranked(2, 0.70, 0.65, 0.01)  # margin 0.05: reviewed first despite 0.7
    flagged = ranked(3, 0.99, 0.01, rejected=True)  # rejected ones stay first
    number = logged(4, 0.80, digits=2)  # no per-digit probabilities: margin >= 2 * 0.8 - 1
    write_log(sure_runner_up, close_call, flagged, number)
    assert triage.margin(sure_runner_up) == pytest.approx(0.55)
    assert triage.margin(close_call) == pytest.approx(0.05)
    assert triage.margin(number) == pytest.approx(0.60)
    order = [item.prediction_id for item in review.pick(10)]
    assert list(dict.fromkeys(order)) == ids(3, 2, 1, 4)
    assert not any(item.sampled for item in review.pick(10))  # no random share by default


def test_a_margin_without_a_runner_up_is_the_smallest_the_confidence_allows():
    one = ranked(1, 0.9)  # logged with --top-k 1
    junk = dataclasses.replace(logged(2, 0.3), top_k=[{"probability": "high"}, "x"])
    assert triage.margin(one) == pytest.approx(0.8)
    assert triage.margin(junk) == 0.0  # a malformed top-k is ignored, 0.3 allows a 0 margin
    write_log(one, junk, logged(3, 0.1))
    order = [item.prediction_id for item in review.pick(3)]
    assert order == ids(3, 2, 1)  # equal margins (0): the lower confidence first


# The random share


def test_a_tenth_batch_holds_two_marked_random_checks_outside_the_doubtful_eight():
    records = write_log(*(logged(i, 0.5 + i / 100) for i in range(1, 31)))  # doubt rises with i
    items = review.pick(10, share=0.2, seed=3)
    assert len(items) == 10
    doubtful = [item.prediction_id for item in items if not item.sampled]
    checks = [item.prediction_id for item in items if item.sampled]
    assert len(checks) == 2 and not set(checks) & set(doubtful)
    assert [item.sampled for item in items] == [False] * 8 + [True] * 2  # checks come last
    rest = [r.id for r in records if r.id not in checks]
    assert doubtful == rest[:8]  # the eight most doubtful of the others
    assert [i.prediction_id for i in review.pick(10, share=0.2, seed=3)] == doubtful + checks
    draws = {tuple(i.prediction_id for i in review.pick(10, share=0.2, seed=s)) for s in range(8)}
    assert len(draws) > 1  # another seed, another draw


def test_the_draw_is_uniform_over_every_unreviewed_candidate():
    records = [logged(i, 0.5 + i / 100) for i in range(1, 31)]
    drawn = [r.id for seed in range(300) for r, _ in triage.draw(records, 2, seed)]
    counts = [drawn.count(r.id) for r in records]
    assert min(counts) > 5 and max(counts) < 45  # 20 expected each, the most doubtful too
    assert triage.random_count(10, 0.2) == 2 and triage.random_count(3, 0.2) == 0
    assert triage.random_count(10, 0.7) == 7 and triage.random_count(5, 1.0) == 5
    with pytest.raises(ValueError, match="random share must lie in"):
        review.pick(5, share=1.5)


def test_random_checks_come_from_the_given_window_and_skip_reviewed_predictions():
    old = write_log(*(logged(i, 0.9) for i in range(1, 11)))
    window = write_log(*(logged(i, 0.9) for i in range(11, 21)))
    feedback.add([FeedbackRow.new("1", digit_image(1100), "app", "bo", prediction_id=ids(11)[0])])
    items = review.pick(10, records=window, share=1.0, seed=0)
    assert all(item.sampled for item in items) and len(items) == 9
    assert set(item.prediction_id for item in items) == set(ids(*range(12, 21)))
    assert not {r.id for r in old} & {item.prediction_id for item in items}


def test_a_random_check_is_marked_in_the_form_and_in_the_stored_rows():
    write_log(logged(1, 0.2), logged(2, 0.99, digits=2))
    items = review.pick(5, share=1.0, seed=1)
    assert all(item.sampled for item in items) and len(items) == 3
    single, first_digit, _ = sorted(items, key=lambda item: (item.input, item.piece))
    assert single.title == f"{review.number(single)}. p1.png: guess 1 (20.0%) (random check)"
    assert first_digit.title.endswith("digit 1 of 2: guess 2 (99.0%) (random check)")
    assert "(random check)" not in review.pick(5)[0].title
    text = review.describe(items)
    assert f"**{review.number(single)}.** guess 1 \\(20\\.0%\\), **random check**" in text
    answers = {item.key: item.guess for item in items}
    answers[single.key] = "7"
    saved = review.save(items, answers, "review", "ana")
    rows = sorted(feedback.read(), key=lambda row: row.predicted)
    assert [(r.label, r.predicted, r.sampled) for r in rows] == [
        ("7", "1", True),
        ("2", "2", True),
        ("3", "3", True),
    ]
    assert all(row["random check"] for row in review.outcome_rows(items, saved))
    doubtful = write_log(logged(3, 0.4))[0]
    (item,) = review.pick(1, share=0.2)  # 1 * 0.2 rounds down: no check
    review.save([item], {item.key: "3"}, "review", "ana")
    assert [r.sampled for r in feedback.read() if r.prediction_id == doubtful.id] == [False]


# The feedback store's optional marker


def test_feedback_lines_written_before_the_marker_still_load_as_not_sampled():
    row = FeedbackRow.new("4", digit_image(4), "review", "ana", ids(4)[0], "9")
    old = {k: v for k, v in dataclasses.asdict(row).items() if k != "sampled"}
    feedback_dir().mkdir(parents=True, exist_ok=True)
    (feedback_dir() / feedback.STORE).write_text(json.dumps(old) + "\n")
    (loaded,) = feedback.read()
    assert loaded.sampled is False and loaded == row
    feedback.check(loaded, 1)
    checked = FeedbackRow.new("5", digit_image(5), "review", "ana", sampled=True)
    assert feedback.add([checked]) == [checked]
    assert [r.sampled for r in feedback.read()] == [False, True]
    assert json.loads((feedback_dir() / feedback.STORE).read_text().splitlines()[1])["sampled"]
    with pytest.raises(ValueError, match="feedback row 1: sampled 'yes' is not true or false"):
        feedback.add([dataclasses.replace(checked, sampled="yes")])


# The monitor's estimate


def check(pid: int, label: str, predicted: str, seed: int, sampled: bool = True) -> FeedbackRow:
    """A review's row for prediction `pid`'s image `seed`."""
    image = digit_image(seed)
    return FeedbackRow.new(label, image, "review", "ana", ids(pid)[0], predicted, sampled)


def hand_made_checks() -> list[FeedbackRow]:
    return [
        check(1, "7", "7", 10),  # right
        check(2, NOT_A_DIGIT, "7", 20),  # "not a digit" where the model read a 7: wrong
        check(3, NOT_A_DIGIT, NOT_A_DIGIT, 30),  # right: the gate said so too
        check(4, "1", "1", 40),  # the number "12", read as 12 but labelled 13: wrong
        check(4, "3", "2", 41),
        check(5, "4", "4", 50),  # the number "45", right as a whole
        check(5, "5", "5", 51),
        check(6, "8", "8", 60),  # the number "89" with its 9 unlabelled: not judged
        check(7, "0", "6", 70, sampled=False),  # a doubtful one's review: not a random check
        check(8, "2", "3", 80),  # a check of a prediction outside the window
    ]


def test_accuracy_of_the_window_random_checks_with_a_wilson_interval():
    window = {ids(p)[0]: n for p, n in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 1)]}
    found = random_checks(hand_made_checks(), window)
    assert (found.scope, found.checked, found.right, found.accuracy) == ("window", 5, 3, 0.6)
    # Wilson 95% at 3 of 5, by hand: (0.6 + z²/10 -/+ z * sqrt(0.048 + z²/100)) / (1 + z²/5)
    assert found.low == pytest.approx(0.2307, abs=1e-4)
    assert found.high == pytest.approx(0.8824, abs=1e-4)
    assert sentence(found).startswith("60.0% right (Wilson 95% 23.1% .. 88.2%) on 5 randomly")


def test_a_window_without_checks_falls_back_to_every_check_and_says_so():
    found = random_checks(hand_made_checks(), {ids(99)[0]: 1})
    # Outside the window the digit counts are unknown: "89" is judged on its labelled 8.
    assert (found.scope, found.checked, found.right) == ("all", 7, 4)
    assert "predictions of any time (none in this window)" in sentence(found)
    nothing = random_checks([check(7, "0", "6", 70, sampled=False)], {})
    assert nothing == RandomChecks("none", 0, 0, None, None, None)
    assert sentence(nothing).startswith("No random checks reviewed yet")


def test_a_relabelled_image_counts_with_its_latest_label():
    rows = [check(1, "1", "7", 10), check(1, "7", "7", 10)]  # a correction of the same image
    assert random_checks(rows, {ids(1)[0]: 1}).accuracy == 1.0


def test_the_review_flow_takes_a_bounded_share_and_its_form_titles_the_checks():
    from prefect.utilities.callables import parameter_schema

    from flows.review import review as review_flow
    from tasks.review import labels_form, pick_items

    schema = parameter_schema(review_flow.fn).model_dump()["properties"]["random_share"]
    assert (schema["default"], schema["minimum"], schema["maximum"]) == (0.2, 0, 1)
    write_log(*(logged(i, 0.5 + i / 100) for i in range(1, 31)))
    items = pick_items.fn(10, None, triage.RANDOM_SHARE, seed=3)
    titles = [
        field["title"] for field in labels_form(items).model_json_schema()["properties"].values()
    ]
    assert [title.endswith(" (random check)") for title in titles] == [False] * 8 + [True] * 2
