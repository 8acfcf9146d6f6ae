"""The digitrec.feedback.added contract: resource, payload, threshold and the counts behind it."""

from __future__ import annotations

import dataclasses

import pytest

from digitrec.loop import events, feedback
from digitrec.loop.feedback import FeedbackRow
from tests.loop_records import digit_image


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    monkeypatch.delenv(events.THRESHOLD_ENV, raising=False)
    return tmp_path


def stored(label: str, seed: int, time: str) -> FeedbackRow:
    row = dataclasses.replace(FeedbackRow.new(label, digit_image(seed), "cli", "ana"), time=time)
    assert feedback.add([row]) == [row]
    return row


def test_the_event_is_the_contract_the_automation_reads():
    built = events.build(new=2, total=130, since_champion=100, threshold=100, source="review")
    assert built.event == "digitrec.feedback.added"
    assert built.resource == {
        "prefect.resource.id": "digitrec.feedback",
        "prefect.resource.name": "feedback store",
        "digitrec.retrain-due": "true",
    }
    assert built.payload == {
        "new": 2,
        "total": 130,
        "since_champion": 100,
        "threshold": 100,
        "source": "review",
    }
    below = events.build(new=2, total=130, since_champion=99, threshold=100, source="cli")
    assert below.resource["digitrec.retrain-due"] == "false"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "Web"}, "source 'Web' is not one of app, review, cli or an import name"),
        ({"new": 5, "total": 4}, "inconsistent counts: new=5, total=4"),
        ({"since_champion": 9, "total": 4}, "since_champion=9"),
        ({"threshold": 0}, "threshold=0"),
    ],
)
def test_impossible_events_are_refused(kwargs, message):
    arguments = {"new": 1, "total": 4, "since_champion": 2, "threshold": 3, "source": "app"}
    with pytest.raises(ValueError, match=message):
        events.build(**{**arguments, **kwargs})


def test_the_threshold_comes_from_the_environment(monkeypatch):
    assert events.retrain_threshold() == 100
    monkeypatch.setenv(events.THRESHOLD_ENV, " 3 ")
    assert events.retrain_threshold() == 3
    for bad in ("0", "-2", "ten", "2.5"):
        monkeypatch.setenv(events.THRESHOLD_ENV, bad)
        with pytest.raises(ValueError, match=f"DIGITREC_RETRAIN_AFTER_LABELS='{bad}'"):
            events.retrain_threshold()


def test_rows_since_the_champion_count_from_its_created_time(monkeypatch):
    stored("1", 1, "2026-11-20T09:00:00Z")
    stored("not a digit", 2, "2026-11-24T10:15:00Z")  # the champion's second: counted
    stored("7", 3, "2026-11-25T08:00:00Z")
    monkeypatch.setenv(events.THRESHOLD_ENV, "2")
    status = events.status("2026-11-24T10:15:00+00:00")
    assert status == {
        "total": 3,
        "per_label": {**{str(d): 0 for d in range(10)}, "1": 1, "7": 1},
        "not_a_digit": 1,
        "since_champion": 2,
        "champion_created": "2026-11-24T10:15:00Z",
        "threshold": 2,
        "retrain_due": True,
    }
    assert events.status(None)["since_champion"] == 3  # no champion: every row counts
    built = events.feedback_added(1, "app", "2026-11-25T00:00:00Z")
    assert built.payload == {
        "new": 1,
        "total": 3,
        "since_champion": 1,
        "threshold": 2,
        "source": "app",
    }
    assert built.resource["digitrec.retrain-due"] == "false"


def test_a_champion_time_that_is_not_a_time_is_named():
    with pytest.raises(ValueError, match="the champion's 'created' 'yesterday' is not an ISO"):
        events.status("yesterday")
