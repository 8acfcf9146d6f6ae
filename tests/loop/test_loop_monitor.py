"""Monitoring the prediction log (digitrec.loop.monitor): each statistic on images with known
answers, the window and its state file, the verdict, and whole runs over logs drawn from the
training images (no drift) or altered ones (drift)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from digitrec.loop import feedback, log
from digitrec.loop.monitor import (
    Thresholds,
    last_run,
    run_monitor,
    save_last_run,
    stats,
    summary,
    window,
)
from digitrec.loop.monitor.features import FEATURES, image_features
from digitrec.loop.monitor.reference import load_reference
from digitrec.loop.monitor.verdict import Measured, judge
from tests.monitor_logs import invert, log_images, thicken


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# MNIST holds runs of images by the same writers, so a contiguous block is a population of its
# own (stroke width KS D ~0.2 between rows 0..599 and 1000..1399): sample rows at random.
ROWS = np.random.default_rng(7).permutation(70_000)
TRAIN, SERVED = ROWS[:2000], ROWS[2000:2400]


@pytest.fixture(scope="module")
def reference(mnist_arrays, tmp_path_factory):
    """The training side: 2,000 random MNIST images in a Kaggle train.csv."""
    from digitrec.data.embedded import write_kaggle_files

    images, labels = mnist_arrays
    folder = tmp_path_factory.mktemp("monitor-train")
    write_kaggle_files(folder, images[TRAIN], labels[TRAIN], images[:1], labels[:1])
    return load_reference(train_csv=folder / "train.csv")


def served(mnist_arrays) -> tuple[np.ndarray, np.ndarray]:
    """400 other random MNIST images and their labels: what users sent, if nothing changed."""
    images, labels = mnist_arrays
    return images[SERVED], labels[SERVED]


def bar(top: int, bottom: int, left: int, right: int) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[top:bottom, left:right] = 255
    return image


# Image statistics


def test_features_of_a_known_bar():
    values = image_features(bar(4, 24, 12, 16))  # 20 rows x 4 columns of ink
    assert values["ink_mass"][0] == pytest.approx(80 / 784)
    assert values["bbox_aspect"][0] == pytest.approx(5.0)
    assert values["center_row"][0] == pytest.approx(13.5)
    assert values["center_col"][0] == pytest.approx(13.5)
    # 2 * area / edges = 2 * 80 / (2 * 20 + 2 * 4)
    assert values["stroke_width"][0] == pytest.approx(160 / 48)


def test_stroke_width_grows_with_the_pen_and_blank_images_have_no_shape():
    thin, thick, blank = image_features(
        np.stack([bar(4, 24, 13, 15), bar(4, 24, 11, 17), np.zeros((28, 28), np.uint8)])
    )["stroke_width"]
    assert 1.5 < thin < 2 < 4 < thick < 6 and math.isnan(blank)
    values = image_features(np.zeros((1, 28, 28), np.uint8))
    assert values["ink_mass"][0] == 0
    assert all(math.isnan(values[n][0]) for n in FEATURES if n != "ink_mass")


def test_features_refuse_other_shapes_and_types():
    with pytest.raises(ValueError, match=r"\(N, 28, 28\), got shape \(2, 32, 32\)"):
        image_features(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        image_features(np.zeros((2, 28, 28), np.float32))


def test_thick_and_inverted_digits_move_the_features(mnist_arrays):
    images = mnist_arrays[0][:200]
    base, thick, inverted = (image_features(x) for x in (images, thicken(images), invert(images)))
    assert np.nanmean(thick["stroke_width"]) > np.nanmean(base["stroke_width"]) + 0.5
    assert np.mean(thick["ink_mass"]) > np.mean(base["ink_mass"]) * 1.3
    assert np.mean(inverted["ink_mass"]) > 0.8


# Tests of distributions


def test_psi_is_zero_for_equal_shares_and_finite_with_empty_classes():
    assert stats.psi(np.array([10, 20, 30]), np.array([1, 2, 3])) == pytest.approx(0)
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert stats.psi(p, q) == pytest.approx((0.25 * math.log(2)) + (-0.25 * math.log(2 / 3)))
    assert math.isfinite(stats.psi(np.array([0, 10]), np.array([5, 5])))
    with pytest.raises(ValueError, match="positive total"):
        stats.psi(np.array([0, 0]), np.array([1, 1]))


def test_class_shift_against_the_prior():
    prior = np.full(10, 0.1)
    even = stats.class_shift(np.full(10, 50), prior)
    assert even.psi == pytest.approx(0) and even.chi_square_p == pytest.approx(1)
    skewed = stats.class_shift(np.array([300] + [20] * 9), prior)
    assert skewed.psi > 0.2 and skewed.chi_square_p < 1e-6
    assert sum(skewed.expected) == pytest.approx(480)
    empty = stats.class_shift(np.zeros(10), prior)
    assert empty.psi is None and empty.chi_square is None
    with pytest.raises(ValueError, match="differ in shape"):
        stats.class_shift(np.ones(9), prior)


def test_feature_shift_ks():
    rng = np.random.default_rng(0)
    same = stats.feature_shift("x", rng.normal(size=500), rng.normal(size=2000))
    assert same.ks_p > 0.01 and same.ks_statistic < 0.1 and same.samples == 500
    moved = stats.feature_shift("x", rng.normal(1, size=500), rng.normal(size=2000))
    assert moved.ks_p < 1e-10 and moved.ks_statistic > 0.3
    nothing = stats.feature_shift("x", np.array([np.nan]), np.ones(3))
    assert nothing.ks_p is None and nothing.samples == 0
    with pytest.raises(ValueError, match="reference sample of 'x'"):
        stats.feature_shift("x", np.ones(3), np.array([np.nan]))


def test_confidence_histogram():
    counts = stats.confidence_histogram(np.array([0.0, 0.05, 0.55, 0.99, 1.0, np.nan]))
    assert counts == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stats.confidence_histogram(np.array([1.5]))


# The verdict


def measured(**changes) -> Measured:
    base = dict(
        answered=500,
        rejection_rate=0.01,
        low_confidence_rate=0.02,
        psi=0.01,
        features=(("ink_mass", 0.02, 0.5, 500),),
    )
    return Measured(**(base | changes))


def test_verdict_names_each_crossed_threshold():
    limits = Thresholds()
    assert judge(measured(), limits).status == "ok"
    assert judge(measured(rejection_rate=0.2), limits).reasons == ("rejection rate 0.200 > 0.1",)
    assert "low-confidence rate" in judge(measured(low_confidence_rate=0.5), limits).reasons[0]
    assert "PSI 0.300 > 0.2" in judge(measured(psi=0.3), limits).reasons[0]
    drifted = judge(measured(features=(("ink_mass", 0.4, 1e-9, 500),)), limits)
    assert drifted.drift and drifted.reasons[0].startswith("ink_mass: KS D 0.400")
    # A significant but tiny shift is no drift; a large one on too few images is not tested.
    assert judge(measured(features=(("ink_mass", 0.05, 1e-9, 500),)), limits).status == "ok"
    assert judge(measured(features=(("ink_mass", 0.5, 1e-3, 20),)), limits).status == "ok"
    assert judge(measured(psi=0.3), Thresholds(psi=0.5)).status == "ok"


def test_a_small_window_is_not_enough_data_never_an_alarm():
    verdict = judge(measured(answered=99, rejection_rate=1.0, psi=5.0), Thresholds())
    assert verdict.status == "not enough data" and not verdict.drift
    assert verdict.reasons == ("99 answered predictions, need 100",)


def test_thresholds_refuse_nonsense():
    with pytest.raises(ValueError, match="ks_p must lie in"):
        Thresholds(ks_p=0)
    with pytest.raises(ValueError, match="min_predictions"):
        Thresholds(min_predictions=0)


# The window and its state file


def test_window_since_the_last_run_but_at_least_the_last_n(mnist_arrays):
    images, labels = mnist_arrays
    log_images(images[:30], labels[:30])
    assert last_run() is None
    assert len(window.select(min_records=10).records) == 30  # first run: everything
    save_last_run("2000-01-01T00:00:00Z")
    assert len(window.select(min_records=0).records) == 30
    save_last_run("2999-01-01T00:00:00Z")  # nothing new since: the newest N stand in
    chosen = window.select(min_records=10)
    assert chosen.new == 0 and len(chosen.records) == 10
    assert chosen.records[-1].input == "image29.png"
    assert window.select(since="2999-01-01", min_records=0).records == ()


def test_state_file_is_written_atomically_and_a_corrupt_one_is_ignored(home):
    path = save_last_run("2026-11-24T10:15:00+01:00")
    assert json.loads(path.read_text()) == {"last_run": "2026-11-24T09:15:00Z"}
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".monitor")] == []
    assert last_run() == "2026-11-24T09:15:00Z"
    path.write_text("{not json")
    assert last_run() is None
    with pytest.raises(ValueError, match="since='yesterday'"):
        save_last_run("yesterday")


def test_contents_count_csv_batches_numbers_errors_and_rejections(mnist_arrays):
    images, labels = mnist_arrays
    records = log_images(images[:4], [1, 1, 2, 3], confidence=0.5)
    number = log.LoggedPrediction(
        id="n", time=records[0].time, source="app", input="n.png", model="m", digits="77",
        confidence=0.9, image_png=log.png_base64(np.hstack([images[5], images[6]])),
    )  # fmt: skip
    error = log.LoggedPrediction(id="e", time=records[0].time, source="app", input="x", model="m")
    junk = log.LoggedPrediction(
        id="j", time=records[0].time, source="app", input="j.png", model="m", digit=4,
        confidence=0.95, rejected=True,
    )  # fmt: skip
    summary = {"rows": 100, "digits": {"0": 60, "9": 40}, "errors": 2, "flagged": 3,
               "low_confidence": 5}  # fmt: skip
    batch = log.LoggedPrediction(
        id="c", time=records[0].time, source="flow", input="rows.csv", model="m", summary=summary
    )
    seen = window.contents([*records, number, error, junk, batch])
    assert seen.predictions == 4 + 1 + 1 + 1 + 100 and seen.errors == 1 + 2
    assert seen.answered == 104 and seen.rejected == 1 + 3 and seen.low_confidence == 4 + 5
    assert seen.class_counts.tolist() == [60, 2, 1, 1, 0, 0, 0, 2, 0, 40]
    assert seen.images.shape == (4 + 2, 28, 28)
    assert sorted(seen.confidences.tolist()) == [0.5] * 4 + [0.9, 0.95]


def test_reviewed_accuracy_joins_feedback_by_prediction_id(mnist_arrays, reference):
    images, labels = mnist_arrays
    records = log_images(images[:3], [5, 0, 4])  # MNIST rows 0..2 are 5, 0, 4
    rows = [
        feedback.FeedbackRow.new("5", images[0], "review", "tester", records[0].id, "5"),
        feedback.FeedbackRow.new("6", images[1], "review", "tester", records[1].id, "0"),
        feedback.FeedbackRow.new("4", images[2], "review", "tester", None, "4"),  # not joined
    ]
    feedback.add(rows)
    report = run_monitor(reference=reference, min_records=0)
    assert report.reviewed == 2 and report.reviewed_accuracy == 0.5


def test_random_checks_give_production_accuracy_in_report_metrics_and_payload(
    mnist_arrays, reference
):
    images, _ = mnist_arrays
    records = log_images(images[:4], [5, 0, 4, 1])  # MNIST rows 0..3 are 5, 0, 4, 1
    new = feedback.FeedbackRow.new
    feedback.add(
        [
            new("5", images[0], "review", "t", records[0].id, "5", sampled=True),
            new("6", images[1], "review", "t", records[1].id, "0", sampled=True),
            new("4", images[2], "review", "t", records[2].id, "4", sampled=True),
            new("7", images[3], "review", "t", records[3].id, "1"),  # doubtful: not counted
        ]
    )
    report = run_monitor(reference=reference, min_records=0)
    checks = report.random_checks
    assert (checks.scope, checks.checked, checks.right) == ("window", 3, 2)
    assert checks.low == pytest.approx(0.2077, abs=1e-4)  # Wilson 95% at 2 of 3
    assert checks.high == pytest.approx(0.9385, abs=1e-4)
    metrics = report.metrics()
    assert metrics["random_checks"] == 3 and metrics["random_checks_in_window"] == 1.0
    assert metrics["random_check_accuracy"] == pytest.approx(2 / 3)
    assert metrics["random_check_accuracy_low"] == checks.low
    payload = report.payload()
    assert payload["random_checks_scope"] == "window"
    assert payload["random_check_accuracy_high"] == pytest.approx(0.9385, abs=1e-4)
    json.dumps(payload)  # JSON-safe
    text = summary.markdown(report)
    assert "### Production accuracy: the review's random checks" in text
    assert "66.7% right (Wilson 95% 20.8% .. 93.9%) on 3 randomly checked predictions" in text
    later = run_monitor(reference=reference, since="2999-01-01", min_records=0)
    assert (later.random_checks.scope, later.random_checks.checked) == ("all", 3)
    assert later.payload()["random_checks_in_window"] == 0.0


# Whole runs


def test_a_log_drawn_from_the_training_images_is_no_drift(mnist_arrays, reference, home):
    log_images(*served(mnist_arrays))  # other MNIST images, same population
    report = run_monitor(reference=reference, out_dir=home / "monitor" / "run")
    assert report.verdict.status == "ok", report.verdict.reasons
    assert report.predictions == 400 and report.images == 400
    assert report.classes.psi < 0.05 and report.rejection_rate == 0
    assert all(s.ks_statistic < 0.15 for s in report.features)
    assert sum(report.confidence_histogram) == 400
    saved = json.loads((home / "monitor" / "run" / "report.json").read_text())
    assert saved["status"] == "ok" and saved["predictions"] == 400
    for name in ("inputs_figure", "outputs_figure"):
        assert open(report.files[name], "rb").read(4) == b"\x89PNG"


@pytest.mark.parametrize("alter", [thicken, invert], ids=["thick-strokes", "inverted"])
def test_altered_images_are_drift(mnist_arrays, reference, alter):
    images, labels = served(mnist_arrays)
    log_images(alter(images), labels)
    report = run_monitor(reference=reference)
    assert report.drift
    drifted = {reason.split(":")[0] for reason in report.verdict.reasons}
    assert {"ink_mass", "stroke_width"} <= drifted
    assert report.payload()["status"] == "drift"
    assert report.metrics()["ink_mass.ks_statistic"] > 0.15


def test_one_digit_for_everything_is_output_drift(mnist_arrays, reference):
    images, _ = served(mnist_arrays)
    log_images(images, [1] * 400)
    report = run_monitor(reference=reference)
    assert report.drift and any("PSI" in r for r in report.verdict.reasons)


def test_too_small_a_window_is_not_enough_data(mnist_arrays, reference):
    images, labels = served(mnist_arrays)
    log_images(invert(images[:50]), labels[:50])  # drifted, but only 50
    report = run_monitor(reference=reference)
    assert report.verdict.status == "not enough data" and not report.drift
    empty_home_report = run_monitor(reference=reference, since="2999-01-01", min_records=0)
    assert empty_home_report.records == 0 and empty_home_report.verdict.status == "not enough data"


def test_reference_is_cached_per_data_fingerprint(small_kaggle_dir, tmp_path):
    train = tmp_path / "train.csv"
    train.write_bytes((small_kaggle_dir / "train.csv").read_bytes())
    first = load_reference(train_csv=train)
    again = load_reference(train_csv=train)
    assert not first.cached and again.cached
    assert all(
        np.array_equal(first.features[n], again.features[n], equal_nan=True) for n in FEATURES
    )
    assert first.prior.sum() == pytest.approx(1) and len(first.features["ink_mass"]) == 600
    os.utime(train, ns=(1, 1))  # a changed file is a new fingerprint: computed afresh
    assert not load_reference(train_csv=train).cached
