"""The Great Expectations suite: good data passes, each kind of bad data is named precisely."""

import json
import subprocess
import sys

import pytest

from digitrec.data.validation import (
    Check,
    ValidationBounds,
    ValidationFailed,
    ValidationReport,
    require_valid,
    validate_dataset,
)
from tests.conftest import write_rows


def image(i: int) -> list[int]:
    """A distinct 784-pixel image per i (one lit pixel)."""
    pixels = [0] * 784
    pixels[i % 784] = 1 + i % 255
    return pixels


def train_rows(n: int = 20) -> list[list]:
    """n rows, labels 0..9 in turn, every image different."""
    return [[i % 10, *image(i)] for i in range(n)]


def failed_targets(report: ValidationReport) -> list[str]:
    return [check.target for check in report.failures()]


def only_failure(report: ValidationReport, target_part: str) -> Check:
    """The report's single failed check, which must be the one named by `target_part`."""
    assert report.success is False
    assert len(report.failures()) == 1, failed_targets(report)
    check = report.failures()[0]
    assert target_part in check.target
    return check


@pytest.fixture
def write_train(tmp_path, train_header):
    def write(rows: list[list], header: list[str] | None = None):
        return write_rows(tmp_path / "train.csv", header or train_header, rows)

    return write


def test_good_data_passes(small_kaggle_dir):
    report = validate_dataset(small_kaggle_dir / "train.csv", small_kaggle_dir / "test.csv")
    assert report.success, report.to_markdown()
    assert (report.train_rows, report.test_rows) == (600, 200)
    assert len(report.checks) >= 15 and report.failures() == ()
    assert all(check.expectation.startswith("expect_") for check in report.checks)
    require_valid(report)  # does not raise
    stored = json.loads(json.dumps(report.to_dict()))
    assert stored["success"] is True and len(stored["checks"]) == len(report.checks)
    markdown = report.to_markdown()
    assert "| result | target | expectation | observed | where |" in markdown
    assert markdown.count("| pass |") == len(report.checks)


def test_train_only_has_no_test_checks(write_train):
    report = validate_dataset(write_train(train_rows()))
    assert report.success and report.test_rows is None
    assert all(check.target.startswith("train.csv") for check in report.checks)


def test_renamed_column(write_train, train_header):
    header = train_header.copy()
    header[5] = "pixelX"
    check = only_failure(validate_dataset(write_train(train_rows(), header)), "columns")
    assert check.expectation == "expect_column_pair_values_to_be_equal"
    assert "missing 'pixel4'" in check.where and "unexpected 'pixelX'" in check.where
    assert "column 6 is 'pixelX', expected 'pixel4'" in check.where


def test_missing_last_column(write_train, train_header):
    rows = [row[:-1] for row in train_rows()]
    check = only_failure(validate_dataset(write_train(rows, train_header[:-1])), "columns")
    assert check.observed.startswith("784 columns, expected 785")
    assert "missing 'pixel783'" in check.where


def test_missing_middle_column_names_it_once(write_train, train_header):
    rows = [row[:5] + row[6:] for row in train_rows()]
    report = validate_dataset(write_train(rows, train_header[:5] + train_header[6:]))
    check = only_failure(report, "columns")
    assert check.where.startswith("missing 'pixel4'; column 6 is 'pixel5', expected 'pixel4'")
    assert "more positions" in check.where  # 780 shifted positions are counted, not listed


def test_extra_column(write_train, train_header):
    rows = [[*row, 0] for row in train_rows()]
    check = only_failure(validate_dataset(write_train(rows, [*train_header, "extra"])), "columns")
    assert "unexpected 'extra'" in check.where and "column 786 is 'extra'" in check.where


@pytest.mark.parametrize(
    ("value", "target"), [(300, "pixel maximum <= 255"), (-1, "pixel minimum >= 0")]
)
def test_pixel_out_of_range(write_train, value, target):
    rows = train_rows()
    rows[4][43] = value  # data row 5, pixel42 (column 44)
    check = only_failure(validate_dataset(write_train(rows)), target)
    assert check.where == f"column 44 'pixel42': row 5 (line 6) = {value}"
    assert check.observed.startswith("1 column with pixels")


@pytest.mark.parametrize("missing", ["", "NaN"])
def test_missing_pixel(write_train, missing):
    rows = train_rows()
    rows[2][784] = missing
    check = only_failure(validate_dataset(write_train(rows)), "missing values")
    assert check.where == "column 785 'pixel783': row 3 (line 4) = empty"
    assert check.observed == "1 missing value in 1 column"


def test_missing_label(write_train):
    rows = train_rows()
    rows[3][0] = ""
    check = only_failure(validate_dataset(write_train(rows)), "missing values")
    assert check.where == "column 1 'label': row 4 (line 5) = empty"


@pytest.mark.parametrize("label", [10, 255, -1])
def test_label_outside_digits(write_train, label):
    rows = train_rows()
    rows[6][0] = label
    check = only_failure(validate_dataset(write_train(rows)), "labels 0..9")
    assert check.where == f"row 7 (line 8) = {label}"
    assert check.observed == f"1 label not a digit 0..9 (e.g. {label})"


def test_text_label_fails_type_and_digit_checks(write_train):
    rows = train_rows()
    rows[3][0] = "x"
    report = validate_dataset(write_train(rows))
    assert failed_targets(report) == ["train.csv integer values", "train.csv labels 0..9"]
    kinds, labels = report.failures()
    assert kinds.where == "column 1 'label': row 4 (line 5) = 'x'"
    assert labels.where == "row 4 (line 5) = 'x'"  # the other labels, read as text, still pass


def test_non_integer_pixel(write_train):
    rows = train_rows()
    rows[1][11] = "1.5"
    check = only_failure(validate_dataset(write_train(rows)), "integer values")
    assert check.where == "column 12 'pixel10': row 2 (line 3) = 1.5"
    assert "(float)" in check.observed


def test_text_pixel(write_train):
    rows = train_rows()
    rows[3][7] = "abc"
    check = only_failure(validate_dataset(write_train(rows)), "integer values")
    assert check.where == "column 8 'pixel6': row 4 (line 5) = 'abc'"


def test_duplicated_images(write_train):
    rows = train_rows()
    rows[5] = [9, *rows[3][1:]]  # same image as row 4, other label: still a duplicate
    rows[9] = list(rows[3])
    check = only_failure(validate_dataset(write_train(rows)), "duplicate images")
    assert check.expectation == "expect_column_proportion_of_unique_values_to_be_between"
    assert check.observed == "2 rows repeating an earlier row's image (10.00%)"
    assert check.where == "rows 4, 6, 10 (lines 5, 7, 11) hold one image"


def test_duplicate_bound_is_configurable(write_train):
    rows = train_rows()
    rows[9] = list(rows[3])  # 1 of 20 rows repeats: 5%
    path = write_train(rows)
    assert not validate_dataset(path).success
    assert validate_dataset(path, bounds=ValidationBounds(max_duplicate_rate=0.05)).success


def test_train_test_overlap(tmp_path, write_train, test_header):
    train = write_train(train_rows())
    test_images = [image(100 + i) for i in range(10)]
    test_images[1] = image(7)  # train row 8
    test_images[6] = image(12)  # train row 13
    test = write_rows(tmp_path / "test.csv", test_header, test_images)
    check = only_failure(validate_dataset(train, test), "overlap with train.csv")
    assert check.observed == "2 test rows also in train.csv (20.00%)"
    assert check.where == (
        "test row 2 (line 3) = train.csv row 8 (line 9); "
        "test row 7 (line 8) = train.csv row 13 (line 14)"
    )
    assert validate_dataset(train, test, ValidationBounds(max_overlap_rate=0.2)).success


def test_short_row_is_a_failed_check_not_a_crash(write_train):
    rows = train_rows()
    rows[1] = rows[1][:-3]
    report = validate_dataset(write_train(rows))
    check = only_failure(report, "fields per row")
    assert check.where == "row 2 (line 3): 782 fields"
    assert report.train_rows == 20  # the ragged row still counts as a data row


def test_rows_after_a_ragged_row_keep_their_numbers(write_train):
    rows = train_rows()
    rows[1] = [*rows[1], 0]  # a long row
    rows[4][43] = 300
    report = validate_dataset(write_train(rows))
    assert failed_targets(report) == ["train.csv pixel maximum <= 255", "train.csv fields per row"]
    assert report.failures()[0].where == "column 44 'pixel42': row 5 (line 6) = 300"
    assert report.failures()[1].where == "row 2 (line 3): 786 fields"


def test_heavy_class_imbalance(write_train):
    rows = train_rows()
    for row in rows[:16]:
        row[0] = 1  # 16 of 20 rows are ones, digits 0 and 2..7 vanish
    check = only_failure(validate_dataset(write_train(rows)), "class balance")
    assert check.observed == "digit shares 0.00..8.00 x uniform"
    assert check.where.startswith("digit 0: 0 rows, 0.00 x uniform; digit 1: 16 rows, 8.00 x")
    assert check.where.endswith("(allowed 0.5..2.0 x uniform)")
    loose = ValidationBounds(min_class_ratio=0.0, max_class_ratio=8.0)
    assert validate_dataset(write_train(rows), bounds=loose).success


def test_row_count_bounds(write_train):
    bounds = ValidationBounds(min_train_rows=100)
    check = only_failure(validate_dataset(write_train(train_rows()), bounds=bounds), "row count")
    assert check.where == "20 data rows after the header; allowed 100..1000000"


def test_unreadable_files_are_failed_checks(tmp_path, write_train):
    (tmp_path / "empty.csv").write_text("")
    report = validate_dataset(tmp_path / "empty.csv", tmp_path / "missing.csv")
    assert failed_targets(report) == ["empty.csv file", "missing.csv file"]
    assert "Empty CSV file" in report.failures()[0].observed
    assert "file not found" in report.failures()[1].observed
    assert (report.train_rows, report.test_rows) == (0, 0)


def test_require_valid_raises_with_every_failure(write_train):
    rows = train_rows()
    rows[4][43] = 300
    rows[6][0] = 10
    report = validate_dataset(write_train(rows))
    with pytest.raises(ValidationFailed) as raised:
        require_valid(report)
    assert isinstance(raised.value, ValueError) and raised.value.report is report
    message = str(raised.value)
    assert message.startswith("data validation failed: 2 of ")
    assert "column 44 'pixel42': row 5 (line 6) = 300" in message
    assert "train.csv labels 0..9" in message and "row 7 (line 8) = 10" in message


def test_markdown_lists_failures_first(write_train):
    rows = train_rows()
    rows[6][0] = 10
    markdown = validate_dataset(write_train(rows)).to_markdown()
    table = [line for line in markdown.splitlines() if line.startswith("| ")][2:]
    assert table[0].startswith("| **FAIL** | train.csv labels 0..9 |")
    assert "row 7 (line 8) = 10" in table[0]
    assert all(line.startswith("| pass |") for line in table[1:])


@pytest.mark.parametrize(
    "bounds",
    [
        {"min_train_rows": 10, "max_train_rows": 5},
        {"min_class_ratio": -1.0},
        {"max_duplicate_rate": 1.5},
    ],
)
def test_bounds_refuse_nonsense(bounds):
    with pytest.raises(ValueError, match="bound"):
        ValidationBounds(**bounds)


def test_great_expectations_is_imported_lazily():
    code = (
        "import sys, digitrec.data.validation\n"
        "print(any(m.startswith('great_expectations') for m in sys.modules))"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_full_embedded_data_validates():
    from digitrec.data.embedded import ensure_embedded_data

    info = ensure_embedded_data()
    report = validate_dataset(info.train_csv, info.test_csv)
    assert report.success, report.to_markdown()
    assert (report.train_rows, report.test_rows) == (42_000, 28_000)
    print(f"full-data validation: {report.seconds:.2f} s for 42,000 + 28,000 rows")
