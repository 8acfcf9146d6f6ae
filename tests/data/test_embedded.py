"""The embedded MNIST builder: counts, dtypes, stratification, determinism, disjointness."""

import json

import numpy as np
import pandas as pd
import pytest

from digitrec.constants import KAGGLE_TEST_ROWS, KAGGLE_TRAIN_ROWS
from digitrec.data.embedded import ensure_embedded_data, is_intact, kaggle_split, write_kaggle_files
from digitrec.data.kaggle import load_answers, load_csv


def test_pickle_recovers_exact_pixels(mnist_arrays):
    images, labels = mnist_arrays
    assert images.shape == (70_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (70_000,) and set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0


def test_split_is_stratified_deterministic_and_disjoint(mnist_arrays):
    images, labels = mnist_arrays
    a = kaggle_split(images, labels)
    b = kaggle_split(images, labels)
    train_x, train_y, test_x, test_y = a
    assert len(train_x) == KAGGLE_TRAIN_ROWS and len(test_x) == KAGGLE_TEST_ROWS
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    overall = np.bincount(labels, minlength=10) / len(labels)
    for part in (train_y, test_y):
        share = np.bincount(part, minlength=10) / len(part)
        assert np.abs(share - overall).max() < 0.001
    # Every source image lands in exactly one side: the two sides together are a permutation.
    both = np.concatenate([train_x, test_x]).reshape(70_000, -1)
    key = lambda m: np.sort(m.view(np.dtype((np.void, 784))).ravel())  # noqa: E731
    assert np.array_equal(key(both), key(images.reshape(70_000, -1)))


def test_written_files_round_trip_and_answers_align(mnist_arrays, tmp_path):
    images, labels = mnist_arrays
    files = write_kaggle_files(tmp_path, images[:50], labels[:50], images[50:80], labels[50:80])
    assert files["train.csv"]["rows"] == 50 and files["test.csv"]["rows"] == 30
    train = load_csv(tmp_path / "train.csv", cache=False)
    test = load_csv(tmp_path / "test.csv", cache=False)
    np.testing.assert_array_equal(train.images, images[:50])
    np.testing.assert_array_equal(train.labels, labels[:50])
    np.testing.assert_array_equal(test.images, images[50:80])
    assert test.labels is None
    np.testing.assert_array_equal(load_answers(tmp_path / "test_labels.csv"), labels[50:80])
    answers = pd.read_csv(tmp_path / "test_labels.csv")
    assert list(answers.columns) == ["ImageId", "Label"]
    assert answers["ImageId"].tolist() == list(range(1, 31))


@pytest.mark.slow
def test_embedded_data_builds_once_and_rebuilds_when_corrupt(tmp_path):
    info = ensure_embedded_data(tmp_path)
    assert info.rebuilt and info.train_rows == KAGGLE_TRAIN_ROWS
    assert info.test_rows == KAGGLE_TEST_ROWS
    assert sum(info.class_counts.values()) == KAGGLE_TRAIN_ROWS
    header = (tmp_path / "train.csv").open().readline().strip().split(",")
    assert header[:3] == ["label", "pixel0", "pixel1"] and len(header) == 785
    assert ensure_embedded_data(tmp_path).rebuilt is False
    # Corrupt one byte of test.csv: the checksum catches it and the build repeats.
    data = bytearray((tmp_path / "test.csv").read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    (tmp_path / "test.csv").write_bytes(bytes(data))
    assert not is_intact(tmp_path)
    assert ensure_embedded_data(tmp_path).rebuilt is True
    assert is_intact(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["total_rows"] == 70_000
    # Answers are aligned with test rows: the held-back labels match the source images.
    test = load_csv(tmp_path / "test.csv")
    answers = load_answers(tmp_path / "test_labels.csv")
    assert len(answers) == len(test) == KAGGLE_TEST_ROWS
