"""The "not a digit" gate: synthetic non-digits, the threshold rule and the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.data.nondigits import KINDS, LETTERS
from digitrec.inference.rejection import Gate, verdict
from digitrec.modeling.rejection import threshold_for
from digitrec.pipeline.gate_renders import make_nondigits


def test_nondigits_are_mnist_style_varied_and_seeded():
    images = make_nondigits(60, seed=3)
    assert images.shape == (60, 28, 28) and images.dtype == np.uint8
    assert all(image.max() > 200 for image in images)  # ink on every one
    assert len({image.tobytes() for image in images}) == 60
    assert np.array_equal(make_nondigits(5, seed=3), images[:5])
    assert not set(LETTERS) & set("OoIlZzSsbGTBgqDQ")  # letters that read as digits
    assert sum(share for share, _ in KINDS.values()) == pytest.approx(1.0)


def test_threshold_rejects_at_most_the_allowed_share_of_digits():
    scores = np.linspace(0, 1, 1001)
    threshold = threshold_for(scores, max_rejected=0.01)
    assert (scores >= threshold).mean() <= 0.01
    assert (scores >= threshold - 0.002).mean() > 0.005  # and not far below it
    with pytest.raises(ValueError, match="held-out digit scores"):
        threshold_for(np.array([]))


def test_verdict_rejects_images_and_only_flags_csv_rows():
    assert verdict(np.array([0.1]), 0.5, is_row=False) == (False, None)
    rejected, reason = verdict(np.array([0.9]), 0.5, is_row=False)
    assert rejected and reason.startswith("not a digit: the image")
    rejected, reason = verdict(np.array([0.1, 0.95, 0.2]), 0.5, is_row=False)
    assert rejected and "digit 2 of 3" in reason
    rejected, reason = verdict(np.array([0.9]), 0.5, is_row=True)
    assert not rejected and reason.startswith("flagged:")


def test_gate_scores_and_rejects_in_one_call():
    gate = Gate(lambda images: images.reshape(len(images), -1).mean(1) / 255, threshold=0.5)
    images = np.stack([np.zeros((28, 28)), np.full((28, 28), 255)]).astype(np.uint8)
    scores, rejected = gate.rejects(images, np.array([1.0, 1.0]))  # a sure digit model
    assert scores.tolist() == [0.0, 1.0] and rejected.tolist() == [False, True]
    # The digit model's doubt adds to the gate's score: an unsure reading tips the first over.
    scores, rejected = gate.rejects(images, np.array([0.4, 1.0]))
    assert scores.tolist() == pytest.approx([0.6, 1.0]) and rejected.tolist() == [True, True]
    assert gate.rejects(images[:0], np.zeros(0))[1].size == 0


@pytest.mark.slow
def test_predict_reports_the_gates_verdict(strong_model_path, mnist_arrays, tmp_path):
    """A trained, exported gate beside the model: image files are rejected at or over its
    threshold with a reason, CSV rows only flagged; no gate file means no verdict."""
    import json
    import shutil

    import cv2

    from digitrec.inference.rejection import gate_settings_path
    from digitrec.modeling.rejection import train_gate
    from digitrec.pipeline.rejection import export_gate
    from tests.conftest import write_rows
    from tests.predictions import predict_inputs

    model = tmp_path / "model.keras"
    shutil.copyfile(strong_model_path, model)
    shutil.copyfile(strong_model_path.with_suffix(".tflite"), model.with_suffix(".tflite"))
    images, _ = mnist_arrays
    digit = tmp_path / "digit.png"
    cv2.imwrite(str(digit), 255 - cv2.resize(images[60_000], (112, 112)))
    rows = write_rows(
        tmp_path / "rows.csv",
        [f"pixel{i}" for i in range(784)],
        [images[60_001].ravel().tolist()],
    )
    assert not any(p.rejected for p in predict_inputs(model, [digit, rows]))  # no gate yet

    gate = train_gate(images[:300], make_nondigits(300, seed=0), epochs=1)
    export_gate(gate, str(model), images[:64])
    for threshold, rejected in ((0.0, True), (2.01, False)):  # scores lie in 0..2
        gate_settings_path(model).write_text(json.dumps({"threshold": threshold}))
        image, row = predict_inputs(model, [digit, rows])
        assert image.rejected is rejected and (image.reason is not None) is rejected
        assert row.rejected is False and (row.reason or "").startswith("flagged") is rejected
        assert image.digit is not None  # the model's reading stays for review


def test_gate_training_sets_mix_every_way_of_making_inputs(tmp_path, monkeypatch, mnist_arrays):
    from digitrec.pipeline.gate_renders import gate_digits, training_nondigits

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    images = mnist_arrays[0][:40]
    digits = gate_digits(images, seed=0)
    assert digits.shape[1:] == (28, 28) and 35 <= len(digits) <= 40  # a photo may lose its ink
    # 15 as they are, then 10 redrawn, 10 photographed and 5 scanned coarsely
    assert np.array_equal(digits[:15], images[:15])
    assert not np.array_equal(digits[15:25], images[15:25])
    first = training_nondigits(40, seed=5)
    cached = list((tmp_path / "cache" / "gate").glob("nondigits-*.npz"))
    assert len(cached) == 1 and len(first) >= 35
    assert np.array_equal(training_nondigits(40, seed=5), first)  # read back, not redrawn


def test_reviewed_not_a_digit_labels_join_the_gates_training(tmp_path, monkeypatch, mnist_arrays):
    from digitrec.loop import feedback
    from digitrec.pipeline.gate_renders import make_nondigits
    from digitrec.pipeline.rejection import reviewed_examples

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    assert [len(x) for x in reviewed_examples()] == [0, 0]  # no feedback yet
    star, seven = make_nondigits(1, seed=9)[0], mnist_arrays[0][60_000]
    feedback.add(
        [
            feedback.FeedbackRow.new("not a digit", star, "app", "ada"),
            feedback.FeedbackRow.new("7", seven, "app", "ada"),
        ]
    )
    digits, nondigits = reviewed_examples()
    assert np.array_equal(nondigits, star[None]) and np.array_equal(digits, seven[None])
    # A later correction of the same image replaces its earlier label.
    feedback.add([feedback.FeedbackRow.new("4", star, "review", "bob")])
    digits, nondigits = reviewed_examples()
    assert len(nondigits) == 0 and len(digits) == 2


def test_gate_inputs_are_rendered_once_per_content(tmp_path, monkeypatch, small_kaggle_dir):
    from digitrec.data.sources import locate_data
    from digitrec.pipeline import gate_renders, rejection
    from digitrec.pipeline.run import split_data

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(rejection, "GATE_DIGITS", 40)
    monkeypatch.setattr(rejection, "HELD_OUT_NONDIGITS", 12)
    run = split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, 0)
    first = rejection.gate_images(run)
    assert 35 <= len(first.digits) <= 40 and len(first.held_out) == 12
    cache = tmp_path / "home" / "cache" / "gate"
    names = sorted(p.name for p in cache.glob("*.npz"))
    assert [n.split("-")[0] for n in names] == ["digits", "held", "nondigits"]
    drawn = []
    monkeypatch.setattr(gate_renders, "photographed", lambda *a: drawn.append(a) or a[0][:0])
    again = rejection.gate_images(run)  # read back: nothing is drawn or photographed again
    assert drawn == [] and all(
        np.array_equal(getattr(first, f), getattr(again, f))
        for f in ("digits", "nondigits", "held_out")
    )
    # Other training digits (another seed picks others) are rendered anew, under their own key.
    rejection.gate_images(split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, 1))
    assert len(list(cache.glob("digits-*.npz"))) == 2
    # Old renders do not pile up: only the newest few per kind stay.
    for seed in range(2, 2 + gate_renders.CACHED_PER_KIND):
        rejection.gate_images(split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, seed))
    assert len(list(cache.glob("digits-*.npz"))) == gate_renders.CACHED_PER_KIND


def test_a_child_process_renders_the_gates_inputs(tmp_path, monkeypatch, small_kaggle_dir):
    """The flow's way: a child process fills the cache; this process only reads it back."""
    from digitrec.data.sources import locate_data
    from digitrec.pipeline import gate_renders, rejection
    from digitrec.pipeline.run import split_data

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    run = split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, 0)
    drawn = []
    monkeypatch.setattr(gate_renders, "photographed", lambda *a: drawn.append(a) or a[0][:0])
    monkeypatch.setattr(gate_renders, "draw_nondigits", lambda *a: drawn.append(a))
    inputs = rejection.prepare_gate_inputs(run, in_child=True)
    assert drawn == []  # nothing rendered here: the child did it
    assert inputs.path == run.run_dir / rejection.GATE_INPUTS  # tasks pass the file, not arrays
    images = rejection.load_gate_images(inputs)
    assert len(images.digits) == len(images.nondigits) == inputs.digits >= 500  # some photos
    assert len(images.held_out) == inputs.held_out == rejection.HELD_OUT_NONDIGITS
    assert images.digits.dtype == np.uint8 and images.digits.shape[1:] == (28, 28)


def test_a_failed_child_render_names_its_error(tmp_path, monkeypatch, small_kaggle_dir):
    from digitrec.data.sources import locate_data
    from digitrec.pipeline import rejection
    from digitrec.pipeline.run import split_data

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    run = split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, 0)
    (tmp_path / "split.npz").write_bytes(b"not a split")  # the child cannot read it
    with pytest.raises(RuntimeError, match="rendering the gate's inputs failed"):
        rejection.render_in_child(run)


def test_no_non_digits_asked_for_gives_an_empty_set():
    from digitrec.pipeline.gate_renders import make_nondigits

    assert make_nondigits(0, seed=1).shape == (0, 28, 28)
    assert make_nondigits(3, seed=1).shape == (3, 28, 28)


def test_peoples_labels_weigh_a_share_of_the_gates_training():
    from digitrec.pipeline.rejection import MAX_REPEATS, REVIEWED_SHARE, weighed

    few = np.arange(100 * 28 * 28, dtype=np.uint32).reshape(100, 28, 28).astype(np.uint8)
    repeated = weighed(few, rendered=20_000)  # 100 labels beside 20,000 rendered digits
    assert len(repeated) == 20_000 * REVIEWED_SHARE and (repeated[::10] == few).all()
    assert len(weighed(few[:1], rendered=20_000)) == MAX_REPEATS  # one label: at most this
    assert len(weighed(few, rendered=100)) == 100  # many already: each once
    assert weighed(few[:0], rendered=20_000).shape == (0, 28, 28)
