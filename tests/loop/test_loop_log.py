"""The prediction log: records from predictions, append and read, retention, concurrent writers."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from digitrec.inference.prediction import Prediction
from digitrec.loop import log
from digitrec.storage import log_dir

NOW = log.utc_now()  # one time for every record, so records compare equal


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    monkeypatch.delenv("DIGITREC_LOG_MAX_MB", raising=False)
    monkeypatch.delenv("DIGITREC_LOG_MAX_DAYS", raising=False)
    return tmp_path


def digit_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)  # (28, 28)


def record(i: int, source: str = "cli", time: str = NOW) -> log.LoggedPrediction:
    return log.LoggedPrediction(
        id=f"{i:032x}",
        time=time,
        source=source,
        input=f"p{i}.png",
        model="champion",
        digit=i % 10,
        confidence=0.5,
        image_png=log.png_base64(digit_image(i)),
    )


def test_records_from_predictions_numbers_errors_and_csv_batches(home):
    one, two, three = digit_image(1), digit_image(2), digit_image(3)
    top = [{"digit": 7, "name": "seven", "probability": 0.9}]
    predictions = [
        Prediction("/somewhere/photo.png", digit=7, name="seven", confidence=0.9, top_k=top),
        Prediction("/x/data.csv#row1", digit=3, confidence=0.99),
        Prediction("/x/number.png", confidence=0.8, digits="12", digit_confidences=[0.9, 0.9]),
        Prediction("/x/data.csv#row2", digit=3, confidence=0.5, low_confidence=True, rejected=True),
        Prediction("/x/gone.png", error="/x/gone.png: file not found"),
        Prediction("/x/data.csv#row3", error="row 3 is broken"),
    ]
    images = [[one], [two], [one, three], [three], [], []]
    model = str(home / "runs" / "r1" / "model.keras")
    records = log.records_from(predictions, images, "flow", model)

    assert [r.input for r in records] == ["photo.png", "data.csv", "number.png", "gone.png"]
    assert len({r.id for r in records}) == 4 and all(r.source == "flow" for r in records)
    assert all(r.model == "runs/r1/model.keras" for r in records)  # never the absolute home
    digit, batch, number, failed = records
    assert (digit.digit, digit.confidence, digit.top_k, digit.summary) == (7, 0.9, top, None)
    assert np.array_equal(log.seen_images(digit)[0], one)
    assert (number.digit, number.digits) == (None, "12")
    pieces = log.seen_images(number)  # the strip of the number's digits, cut back
    assert len(pieces) == 2 and np.array_equal(pieces[1], three)
    assert (failed.digit, failed.reason, failed.image_png) == (
        None,
        "gone.png: file not found",
        None,
    )
    assert batch.digit is None and batch.image_png is None
    assert batch.summary == {
        "rows": 3,
        "digits": {str(d): 2 if d == 3 else 0 for d in range(10)},
        "errors": 1,
        "flagged": 1,
        "low_confidence": 1,
        "mean_confidence": 0.745,
    }


def test_records_never_hold_data_uri_content_or_the_home_path(home):
    uri = "data:image/png;base64," + "A" * 500
    predictions = [
        Prediction(uri, error=f"{uri}: not a PNG"),
        Prediction("upload.png", error=f"upload.png: outside {home}/inbox/"),
    ]
    records = log.records_from(predictions, [[], []], "app", "champion")
    text = json.dumps([r.input + r.reason for r in records])
    assert "AAAA" not in text and str(home) not in text
    assert records[0].input == "data:image/png;base64 URI (522 chars)"
    assert records[1].reason == "upload.png: outside $DIGITREC_HOME/inbox/"


def test_records_from_refuses_mismatched_lists_and_unknown_sources():
    with pytest.raises(ValueError, match="2 predictions but 1"):
        log.records_from([Prediction("a.png"), Prediction("b.png")], [[]], "cli", "m")
    with pytest.raises(ValueError, match="source 'web'"):
        log.records_from([Prediction("a.png")], [[]], "web", "m")


def test_append_then_read_recent_limit_and_since():
    assert log.read() == [] and log.recent(5) == []
    first = [record(i) for i in range(3)]
    log.append(first)
    log.append([])
    later = [dataclasses.replace(record(i), time="2099-01-01T00:00:00Z") for i in range(3, 5)]
    log.append(later)
    assert log.read() == first + later
    assert log.recent(2) == later and log.recent(0) == []
    assert log.read(limit=10) == first + later
    assert log.read(since="2098-12-31") == later
    assert log.read(since="2099-01-01T01:00:00+01:00") == later  # the same instant, as UTC
    with pytest.raises(ValueError, match="since='yesterday'"):
        log.read(since="yesterday")


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_a_fresh_line():
    log.append([record(1)])
    active = log_dir() / log.ACTIVE
    with open(active, "ab") as handle:
        handle.write(b'{"id": "torn", "time": "20')  # a writer that died mid-record
    assert log.read() == [record(1)]
    log.append([record(2)])
    assert [r.id for r in log.read()] == [record(1).id, record(2).id]
    with open(active, "ab") as handle:
        handle.write(b"not json\n")
    assert len(log.read()) == 2


def test_rotation_keeps_the_log_within_its_size_budget(monkeypatch):
    monkeypatch.setenv("DIGITREC_LOG_MAX_MB", "0.02")  # 20 KiB in all, segments of 2.5 KiB
    for i in range(60):
        log.append([record(i)])
    folder = log_dir()
    segments = log.segments(folder)
    total = sum(p.stat().st_size for p in [*segments, folder / log.ACTIVE])
    assert len(segments) >= 3 and total <= 0.02 * 2**20
    kept = log.read()
    assert kept == [record(i) for i in range(60 - len(kept), 60)]  # the newest survive, in order
    assert len(kept) < 60 and log.recent(1) == [record(59)]


def test_segments_past_the_age_limit_are_deleted(monkeypatch):
    monkeypatch.setenv("DIGITREC_LOG_MAX_DAYS", "1")
    folder = log_dir()
    folder.mkdir(parents=True)
    old = (datetime.now(UTC) - timedelta(days=2)).strftime(log.STAMP)
    young = (datetime.now(UTC) - timedelta(hours=2)).strftime(log.STAMP)
    for stamp, i in ((old, 1), (young, 2)):
        (folder / f"predictions-{stamp}-abcd.jsonl").write_text(
            json.dumps(record(i).__dict__) + "\n"
        )
    log.append([record(3)])
    assert log.read() == [record(2), record(3)]


def test_an_active_file_is_rotated_once_its_first_record_is_an_eighth_of_the_age_limit_old(
    monkeypatch,
):
    monkeypatch.setenv("DIGITREC_LOG_MAX_DAYS", "80")  # rotate at 10 days, delete at 80
    stale = (datetime.now(UTC) - timedelta(days=11)).strftime(log.TIME_FORMAT)
    log.append([dataclasses.replace(record(1), time=stale)])
    log.append([record(2)])
    log.append([record(3)])
    [segment] = log.segments(log_dir())
    assert [json.loads(line)["id"] for line in segment.read_text().splitlines()] == [record(1).id]
    assert [r.id for r in log.read()] == [record(i).id for i in (1, 2, 3)]


@pytest.mark.parametrize("value", ["0", "-1", "lots", "nan", "inf"])
def test_a_bad_retention_setting_is_an_error(monkeypatch, value):
    monkeypatch.setenv("DIGITREC_LOG_MAX_MB", value)
    with pytest.raises(ValueError, match="DIGITREC_LOG_MAX_MB"):
        log.append([record(1)])


def write_many(worker: int, time: str) -> None:
    """One writer process; `time` comes from the parent (a spawned child imports afresh)."""
    for i in range(50):
        log.append([record(worker * 1000 + i, source="app", time=time)])


def test_twenty_concurrent_writers_lose_and_tear_nothing(monkeypatch):
    monkeypatch.setenv("DIGITREC_LOG_MAX_MB", "4")  # rotations happen, pruning does not
    # spawn, not fork: the test process may hold other threads' locks (Prefect, TensorFlow)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=write_many, args=(w, NOW)) for w in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * 20
    records = log.read()
    expected = {record(w * 1000 + i, "app").id: w * 1000 + i for w in range(20) for i in range(50)}
    assert len(records) == 1000 and {r.id for r in records} == set(expected)
    assert all(r == record(expected[r.id], "app") for r in records)
    assert len(log.segments(log_dir())) >= 1
    lines = [line for p in log_dir().glob("*.jsonl") for line in p.read_text().splitlines() if line]
    assert len(lines) == 1000 and all(json.loads(line)["source"] == "app" for line in lines)
