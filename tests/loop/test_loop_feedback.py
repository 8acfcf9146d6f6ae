"""The feedback store: validated rows, no duplicates, counts and the Kaggle CSV export."""

from __future__ import annotations

import base64
import dataclasses
import io
import multiprocessing

import numpy as np
import pytest
from PIL import Image

from digitrec.data.kaggle import load_csv
from digitrec.loop import feedback
from digitrec.loop.feedback import FeedbackRow
from digitrec.loop.store import png_base64
from digitrec.storage import feedback_dir


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    return tmp_path


def digit_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)  # (28, 28)


def row(label: str = "3", seed: int = 0, **changes) -> FeedbackRow:
    made = FeedbackRow.new(label, digit_image(seed), "app", "ana", "ab" * 16, "8")
    return dataclasses.replace(made, **changes)


def png_text(image: Image.Image, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_rows_round_trip_and_an_image_is_stored_once_per_label():
    first, again, other = row("3", seed=1), row("3", seed=1), row("5", seed=1)
    assert feedback.read() == []
    assert feedback.add([first, again]) == [first]  # a duplicate inside one batch
    assert feedback.add([again, other]) == [other]  # and across batches
    assert feedback.read() == [first, other]
    assert len(first.id) == 32 and first.time.endswith("Z")
    assert (feedback_dir() / "feedback.jsonl").read_text().count("\n") == 2


def test_the_fingerprint_is_of_the_pixels_not_the_png_bytes():
    pixels = digit_image(2)
    recoded = png_text(Image.fromarray(pixels), compress_level=0)
    assert recoded != png_base64(pixels)
    from_text = FeedbackRow.new("7", recoded, "review", "bo")
    assert from_text.fingerprint == FeedbackRow.new("7", pixels, "cli", "cy").fingerprint
    assert feedback.add([from_text]) == [from_text]
    assert feedback.add([FeedbackRow.new("7", pixels, "cli", "cy")]) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"label": "10"}, "feedback row 2: label '10'"),
        ({"label": 3}, "feedback row 2: label 3"),
        ({"source": "Web"}, "feedback row 2: source 'Web' is not one of app, review, cli or"),
        ({"source": "-x"}, "feedback row 2: source '-x'"),
        ({"reviewer": ""}, "feedback row 2: reviewer ''"),
        ({"reviewer": "a\nb"}, "feedback row 2: reviewer 'a\\\\nb'"),
        ({"reviewer": "x" * 65}, "feedback row 2: reviewer is 65 characters"),
        ({"predicted": "\x00"}, "feedback row 2: predicted"),
        ({"time": "yesterday"}, "feedback row 2: time 'yesterday'"),
        ({"image_png": "not base64!"}, "feedback row 2: image_png is not a readable base64 PNG"),
        ({"image_png": png_text(Image.new("RGB", (28, 28)))}, "image_png is not an 8-bit gray"),
        ({"image_png": png_text(Image.new("L", (27, 28)))}, "image_png is \\(28, 27\\)"),
        ({"image_png": base64.b64encode(b"GIF89a").decode()}, "row 2: image_png is not a read"),
        ({"fingerprint": "0" * 64}, "feedback row 2: fingerprint does not match"),
    ],
)
def test_a_bad_row_names_itself_and_its_field_and_nothing_is_stored(changes, message):
    with pytest.raises(ValueError, match=message):
        feedback.add([row(seed=1), row(seed=2, **changes)])
    assert feedback.read() == []


def test_only_feedback_rows_are_accepted():
    with pytest.raises(ValueError, match="feedback row 1: expected a FeedbackRow, got dict"):
        feedback.add([{"label": "3"}])


def test_counts_per_label_and_since():
    feedback.add([row("1", seed=1), row("1", seed=2), row("not a digit", seed=3)])
    feedback.add([row("9", seed=4, time="2099-01-01T00:00:00Z")])
    counts = feedback.counts()
    assert counts["total"] == 4 and counts["not_a_digit"] == 1 and counts["since"] is None
    assert counts["per_label"] == {str(d): {1: 2, 9: 1}.get(d, 0) for d in range(10)}
    later = feedback.counts(since="2098-12-31")
    assert later["total"] == 1 and later["per_label"]["9"] == 1
    assert later["since"] == "2098-12-31T00:00:00Z"


def test_the_kaggle_csv_holds_the_latest_digit_label_of_each_image(tmp_path):
    feedback.add([row("4", seed=1), row("6", seed=2), row("not a digit", seed=3)])
    feedback.add([row("8", seed=2)])  # a correction: image 2 is an 8
    out = feedback.to_kaggle_csv(tmp_path / "out" / "feedback.csv")
    digits = load_csv(out, kind="train", cache=False)  # (N, 28, 28)
    assert digits.labels.tolist() == [4, 8]
    assert np.array_equal(digits.images, np.stack([digit_image(1), digit_image(2)]))
    assert out.read_text().splitlines()[0].startswith("label,pixel0,pixel1,")


def test_an_empty_store_exports_a_header_only_csv(tmp_path):
    out = feedback.to_kaggle_csv(tmp_path / "empty.csv")
    assert out.read_text() == ",".join(["label", *(f"pixel{i}" for i in range(784))]) + "\n"


def test_a_torn_last_line_is_skipped():
    feedback.add([row("2", seed=1)])
    with open(feedback_dir() / "feedback.jsonl", "a") as handle:
        handle.write('{"id": "torn"')
    assert [r.label for r in feedback.read()] == ["2"]
    feedback.add([row("3", seed=1)])
    assert [r.label for r in feedback.read()] == ["2", "3"]


def add_same_row(_: int) -> None:
    feedback.add([row("5", seed=9)])


def test_concurrent_adds_of_one_image_store_it_once():
    # spawn, not fork: the test process may hold other threads' locks (Prefect, TensorFlow)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=add_same_row, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * 6
    assert [r.label for r in feedback.read()] == ["5"]
