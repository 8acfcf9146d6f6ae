"""The Kaggle CSV loader: happy path, caching, and every bad case named precisely."""

import os

import numpy as np
import pytest

from digitrec.data.kaggle import DataError, load_csv
from tests.conftest import write_rows

GOOD_PIXELS = [0] * 784


def test_loads_train_and_test(small_kaggle_dir):
    train = load_csv(small_kaggle_dir / "train.csv")
    test = load_csv(small_kaggle_dir / "test.csv")
    assert train.images.shape == (600, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.shape == (600,) and train.labels.dtype == np.uint8
    assert test.images.shape == (200, 28, 28) and test.labels is None


def test_cache_returns_same_arrays_and_follows_file_changes(tmp_path, train_header):
    path = write_rows(tmp_path / "t.csv", train_header, [[3, *GOOD_PIXELS], [4, *GOOD_PIXELS]])
    first = load_csv(path)
    again = load_csv(path)
    np.testing.assert_array_equal(first.labels, again.labels)
    write_rows(path, train_header, [[7, *GOOD_PIXELS]])
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10_000_000))
    assert load_csv(path).labels.tolist() == [7]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        load_csv(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="empty file"):
        load_csv(tmp_path / "e.csv")


def test_header_only(tmp_path, test_header):
    path = write_rows(tmp_path / "h.csv", test_header, [])
    with pytest.raises(DataError, match="no data rows"):
        load_csv(path)


def test_wrong_header_names_first_wrong_column(tmp_path, train_header):
    header = train_header.copy()
    header[5] = "pixelX"
    path = write_rows(tmp_path / "w.csv", header, [[1, *GOOD_PIXELS]])
    with pytest.raises(DataError, match=r"column 6 is 'pixelX', expected 'pixel4'"):
        load_csv(path)


def test_missing_column(tmp_path, train_header):
    path = write_rows(tmp_path / "m.csv", train_header[:-1], [[1, *GOOD_PIXELS[:-1]]])
    with pytest.raises(DataError, match="784 columns, expected 785"):
        load_csv(path)


def test_train_kind_refuses_test_layout(tmp_path, test_header):
    path = write_rows(tmp_path / "t.csv", test_header, [GOOD_PIXELS])
    with pytest.raises(DataError, match="column 1 is 'pixel0', expected 'label'"):
        load_csv(path, kind="train")


def test_short_row_names_row(tmp_path, train_header):
    rows = [[1, *GOOD_PIXELS], [2, *GOOD_PIXELS[:-3]]]
    path = write_rows(tmp_path / "s.csv", train_header, rows)
    with pytest.raises(DataError, match=r"row 2 \(line 3\): 782 fields, expected 785"):
        load_csv(path)


def test_non_integer_pixel(tmp_path, train_header):
    pixels = GOOD_PIXELS.copy()
    pixels[10] = "1.5"
    path = write_rows(tmp_path / "f.csv", train_header, [[1, *GOOD_PIXELS], [1, *pixels]])
    with pytest.raises(
        DataError, match=r"row 2 \(line 3\), column 'pixel10': '1.5' is not an integer"
    ):
        load_csv(path)


def test_missing_pixel(tmp_path, test_header):
    pixels = GOOD_PIXELS.copy()
    pixels[783] = ""
    path = write_rows(tmp_path / "n.csv", test_header, [GOOD_PIXELS, GOOD_PIXELS, pixels])
    with pytest.raises(DataError, match=r"row 3 \(line 4\), column 'pixel783': missing value"):
        load_csv(path)


@pytest.mark.parametrize("value", [300, -1, 256])
def test_out_of_range_pixel(tmp_path, test_header, value):
    pixels = GOOD_PIXELS.copy()
    pixels[42] = value
    path = write_rows(tmp_path / "r.csv", test_header, [pixels])
    with pytest.raises(
        DataError, match=rf"row 1 \(line 2\), column 'pixel42': pixel value {value} "
    ):
        load_csv(path)


@pytest.mark.parametrize("label", [10, 255])
def test_label_outside_digits(tmp_path, train_header, label):
    rows = [[1, *GOOD_PIXELS], [2, *GOOD_PIXELS], [label, *GOOD_PIXELS]]
    path = write_rows(tmp_path / "l.csv", train_header, rows)
    with pytest.raises(
        DataError, match=rf"row 3 \(line 4\), column 'label': {label} is not a digit"
    ):
        load_csv(path)


def test_negative_label(tmp_path, train_header):
    path = write_rows(tmp_path / "l.csv", train_header, [[-1, *GOOD_PIXELS]])
    with pytest.raises(DataError, match=r"row 1 \(line 2\), column 'label': -1 is not a digit"):
        load_csv(path)
