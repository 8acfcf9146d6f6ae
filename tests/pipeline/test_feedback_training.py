"""The feedback store in training: rows checked and validated, split by content hash into
training rows and a fixed holdout, merged into the run's training rows, and a content-hash
validation split that no seed or profile changes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from digitrec.data.sources import locate_data
from digitrec.data.split import content_buckets, content_split
from digitrec.loop import feedback
from digitrec.pipeline.feedback import HOLDOUT_FRACTION, gather_feedback
from digitrec.pipeline.run import feedback_holdout, load_split, split_data


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def rows_of(images: np.ndarray, labels: list[str]) -> list[feedback.FeedbackRow]:
    return [
        feedback.FeedbackRow.new(label, image, "review", "tester", predicted="3")
        for image, label in zip(images, labels, strict=True)
    ]


def test_content_split_ignores_order_and_nests(mnist_arrays):
    images = mnist_arrays[0][:3000]
    train, val = content_split(images, 0.1)
    assert 200 < len(val) < 400 and len(train) + len(val) == 3000
    order = np.random.default_rng(0).permutation(3000)
    _, shuffled_val = content_split(images[order], 0.1)
    assert sorted(order[shuffled_val].tolist()) == sorted(val.tolist())  # by content, not place
    _, smaller = content_split(images, 0.05)
    assert set(smaller.tolist()) <= set(val.tolist())  # a smaller fraction's rows are inside
    assert np.array_equal(content_buckets(images[:5]), content_buckets(images[:5].copy()))


def test_feedback_is_split_by_content_and_merged_into_training(
    home, tmp_path, mnist_arrays, small_kaggle_dir
):
    images, labels = mnist_arrays
    chosen = images[60_000:60_080]
    feedback.add(rows_of(chosen, [str(int(y)) for y in labels[60_000:60_080]]))
    feedback.add(rows_of(images[60_100:60_103], [feedback.NOT_A_DIGIT] * 3))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    used = gather_feedback(run_dir, None)
    assert used.used and used.rows == 83 and used.not_a_digit == 3 and used.quarantined == 0
    assert used.train_rows + used.holdout_rows == 80
    assert 8 <= used.holdout_rows <= 32  # about HOLDOUT_FRACTION of 80
    assert used.validation.startswith("Data validation passed")  # the GE suite ran
    assert (run_dir / "feedback_validation.md").is_file()
    again = gather_feedback(run_dir, None)
    assert (again.fingerprint, again.holdout_rows) == (used.fingerprint, used.holdout_rows)

    run = split_data(locate_data(str(small_kaggle_dir)), run_dir, 0.1, 0, run_dir / "feedback.npz")
    merged, train_idx, val_idx = load_split(run)
    base = len(merged.labels) - used.train_rows
    assert np.array_equal(train_idx[-used.train_rows :], np.arange(base, len(merged.labels)))
    assert val_idx.max() < base  # feedback never enters validation
    held_x, held_y = feedback_holdout(run)
    assert len(held_y) == used.holdout_rows
    trained = {merged.images[i].tobytes() for i in train_idx[-used.train_rows :]}
    assert not trained & {x.tobytes() for x in held_x}  # the holdout is never trained on
    assert gather_feedback(run_dir, False).used is False


def test_a_bad_row_is_quarantined_with_its_reason(home, tmp_path, mnist_arrays):
    images, labels = mnist_arrays
    good = rows_of(images[60_000:60_010], [str(int(y)) for y in labels[60_000:60_010]])
    feedback.add(good)
    bad = dataclasses.replace(good[0], id="forged", image_png=good[1].image_png)  # wrong print
    store = feedback.feedback_dir() / feedback.STORE
    with store.open("a") as handle:
        handle.write(json.dumps(dataclasses.asdict(bad)) + "\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    used = gather_feedback(run_dir, True)
    assert used.quarantined == 1 and used.train_rows + used.holdout_rows == 9
    (entry,) = json.loads((run_dir / "feedback_quarantine.json").read_text())
    assert entry["id"] == "forged" and "fingerprint does not match" in entry["reason"]


def test_no_feedback_means_none_used(home, tmp_path):
    used = gather_feedback(tmp_path, None)
    assert not used.used and used.reason == "the store is empty"
    assert HOLDOUT_FRACTION == 0.25


def test_the_training_key_changes_with_data_feedback_and_settings(
    home, mnist_arrays, small_kaggle_dir
):
    from digitrec.pipeline.records import ChampionStart, TrainingSettings
    from digitrec.pipeline.retraining import training_key

    data = locate_data(str(small_kaggle_dir))
    settings = TrainingSettings(profile="fast", epochs=3, seed=0)
    key = training_key(data, settings, None)
    assert training_key(data, dataclasses.replace(settings), None) == key  # the same inputs
    assert training_key(data, dataclasses.replace(settings, seed=1), None) != key
    start = ChampionStart(model_path="models/cache/1/model.keras", architecture="compact")
    assert training_key(data, settings, None, start) != key  # adapt: from which champion
    images, labels = mnist_arrays
    feedback.add(rows_of(images[60_000:60_004], [str(int(y)) for y in labels[60_000:60_004]]))
    with_feedback = training_key(data, settings, None)
    assert with_feedback != key  # new reviewed digits are something new to learn
    assert training_key(data, settings, False) not in (key, with_feedback)  # gate only
    feedback.add(rows_of(images[60_100:60_101], [feedback.NOT_A_DIGIT]))
    assert training_key(data, settings, None) != with_feedback  # new rows for the gate


def test_a_version_trained_from_the_same_key_is_found(home, strong_model_path):
    from digitrec import registry
    from digitrec.pipeline.retraining import repeated_version

    model = str(strong_model_path)
    first = registry.ModelRecord("a", model, training_key="k1", val_accuracy=0.9)
    registry.register(first, promote=True)
    second = registry.ModelRecord("b", model, training_key="k2", val_accuracy=0.8)
    registry.register(second, promote=False)
    champion = repeated_version("k1")
    assert champion.is_champion and champion.run_id == "a"
    other = repeated_version("k2")  # not promoted: training again would only reproduce it
    assert other.run_id == "b" and not other.is_champion
    assert repeated_version("k3") is None


def test_corrections_the_model_still_contradicts_are_listed_to_check(
    strong_model_path, mnist_arrays, tmp_path
):
    """Two reviewed rows the model reads surely carry a wrong label: the audit names exactly
    those, as their true digit; the rows labelled right pass."""
    from digitrec.pipeline.evaluation import audit_labels
    from digitrec.pipeline.records import RunContext
    from digitrec.pipeline.run import probabilities

    images, labels = mnist_arrays
    x, y = images[60_000:60_040], labels[60_000:60_040].copy()  # (40, 28, 28), MNIST test rows
    probs = probabilities(strong_model_path, x)  # (40, 10)
    sure = np.flatnonzero((probs.argmax(1) == y) & (probs.max(1) >= 0.8))
    wrong = sure[[0, -1]]
    y[wrong] = (y[wrong] + 5) % 10
    ids = np.array([f"row{i}" for i in range(40)])
    path = tmp_path / "feedback.npz"
    np.savez(path, train_images=x, train_labels=y, train_ids=ids,
             holdout_images=x[:0], holdout_labels=y[:0], holdout_sources=ids[:0])  # fmt: skip
    run = RunContext(run_dir=tmp_path, data=None, split_path=tmp_path, seed=0, feedback_path=path)
    audit = audit_labels(str(strong_model_path), run)
    assert [row["feedback_id"] for row in audit] == [f"row{i}" for i in wrong]
    assert [row["model_reads"] for row in audit] == [int(labels[60_000 + i]) for i in wrong]
    assert all(row["label_probability"] <= 0.05 for row in audit)
