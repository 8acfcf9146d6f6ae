"""Submission files: round trip, every defect named by row, and atomic replacement."""

import numpy as np
import pytest

from digitrec.evaluation.submission import (
    SubmissionError,
    score_submission,
    verify_submission,
    write_submission,
)

LABELS = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)


def write_lines(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n")
    return path


def good_lines() -> list[str]:
    return ["ImageId,Label", *(f"{i},{d}" for i, d in enumerate(LABELS, start=1))]


def test_round_trip(tmp_path):
    path = write_submission(LABELS, tmp_path / "run" / "submission.csv")
    assert path == tmp_path / "run" / "submission.csv"
    assert path.read_text().splitlines() == good_lines()
    verify_submission(path, expected_rows=len(LABELS))
    assert score_submission(path, LABELS) == 1.0
    answers = LABELS.copy()
    answers[[0, 5]] = 0
    assert score_submission(path, answers) == pytest.approx(6 / 8)


def test_round_trip_at_kaggle_size(tmp_path, mnist_arrays):
    answers = mnist_arrays[1][:28_000]
    predicted = answers.copy()
    predicted[:280] = (predicted[:280] + 1) % 10
    path = write_submission(predicted, tmp_path / "submission.csv")
    verify_submission(path, expected_rows=28_000)
    assert score_submission(path, answers) == pytest.approx(0.99)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([1, 2, 10]), r"row 3 \(ImageId 3\): 10 is not 0..9"),
        (np.array([-1, 2]), r"row 1 \(ImageId 1\): -1 is not 0..9"),
        (np.array([1.0, 2.0]), "expected integer digits"),
        (np.array([], dtype=np.int64), "non-empty"),
        (np.zeros((2, 2), dtype=np.int64), "1-D"),
    ],
)
def test_write_refuses_bad_labels(tmp_path, labels, message):
    with pytest.raises(SubmissionError, match=message):
        write_submission(labels, tmp_path / "submission.csv")
    assert not (tmp_path / "submission.csv").exists()


def test_failed_write_leaves_previous_file_untouched(tmp_path):
    path = write_submission(LABELS, tmp_path / "submission.csv")
    before = path.read_bytes()
    with pytest.raises(SubmissionError):
        write_submission(np.array([1, 2, 11, 3]), path)
    with pytest.raises(SubmissionError):
        write_submission(np.array([], dtype=np.int64), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]  # no temp files left


def bad_case(lines: list[str], row: int, value: str) -> list[str]:
    """Replace data row `row` (1-based) with `value`."""
    lines = list(lines)
    lines[row] = value
    return lines


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["ImageID,Label", *good_lines()[1:]], r"header 'ImageID,Label', expected 'ImageId,Label'"),
        (["ImageId,Label,Extra", *good_lines()[1:]], "header"),
        (good_lines()[:-1], r"7 rows, expected 8 \(row 8, ImageId 8, is missing\)"),
        (good_lines()[:3] + good_lines()[4:], r"row 3 \(line 4\): ImageId 4, expected 3"),
        ([*good_lines(), "9,1"], r"9 rows, expected 8 \(row 9 is extra\)"),
        (
            bad_case(good_lines(), 4, "3,1"),
            r"row 4 \(line 5\): duplicate ImageId 3 \(first at row 3\)",
        ),
        (bad_case(good_lines(), 5, "5,10"), r"row 5 \(line 6\): Label 10 is not a digit 0..9"),
        (bad_case(good_lines(), 2, "2,-1"), r"row 2 \(line 3\): Label -1 is not a digit"),
        (bad_case(good_lines(), 6, "6,4.0"), r"row 6 \(line 7\): Label '4.0' is not an integer"),
        (
            bad_case(good_lines(), 6, "6,seven"),
            r"row 6 \(line 7\): Label 'seven' is not an integer",
        ),
        (bad_case(good_lines(), 7, "7x,2"), r"row 7 \(line 8\): ImageId '7x' is not an integer"),
        (bad_case(good_lines(), 8, "8"), r"row 8 \(line 9\): 1 fields \['8'\], expected 2"),
        (bad_case(good_lines(), 1, ""), r"row 1 \(line 2\): 0 fields"),
    ],
)
def test_verify_names_the_bad_row(tmp_path, lines, message):
    path = write_lines(tmp_path / "submission.csv", lines)
    with pytest.raises(SubmissionError, match=message) as caught:
        verify_submission(path, expected_rows=8)
    assert str(path) in str(caught.value)


def test_verify_missing_file_and_bad_expectations(tmp_path):
    with pytest.raises(SubmissionError, match="file not found"):
        verify_submission(tmp_path / "nope.csv", expected_rows=8)
    path = write_submission(LABELS, tmp_path / "submission.csv")
    with pytest.raises(SubmissionError, match="expected_rows"):
        verify_submission(path, expected_rows=0)


def test_score_refuses_a_submission_of_the_wrong_length(tmp_path):
    path = write_submission(LABELS, tmp_path / "submission.csv")
    with pytest.raises(SubmissionError, match="8 rows, expected 9"):
        score_submission(path, np.append(LABELS, 0))
    with pytest.raises(SubmissionError, match="answers"):
        score_submission(path, np.array([], dtype=np.int64))
