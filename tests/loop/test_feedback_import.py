"""`digitrec feedback import`: class folders, file,label CSVs and Kaggle CSVs of real MNIST
digits written as scans; quarantine, conflicts, repeats, the suite, the JSON and exit statuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app
from digitrec.constants import TRAIN_COLUMNS
from digitrec.data.validation import ValidationBounds
from digitrec.inference.inputs import InputItem
from digitrec.inference.prediction import prepare
from digitrec.inference.segment import read_digits
from digitrec.loop import feedback, importing
from digitrec.loop.feedback import NOT_A_DIGIT
from digitrec.loop.import_layouts import LayoutError
from digitrec.loop.store import png_pixels
from tests.conftest import write_rows

SCAN = 84  # px: MNIST's 28 three times over, dark ink on white paper like a scan


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DIGITREC_RETRAIN_AFTER_LABELS", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def digits(mnist_arrays) -> dict[str, np.ndarray]:
    """One real MNIST test digit per class (28, 28), each read as one digit from its scan."""
    images, labels = mnist_arrays
    chosen: dict[str, np.ndarray] = {}
    for image, label in zip(images[60_000:], labels[60_000:], strict=True):
        if str(label) not in chosen and len(read_digits(scan(image))) == 1:
            chosen[str(label)] = image
    return dict(sorted(chosen.items()))


def scan(image: np.ndarray) -> np.ndarray:
    return 255 - cv2.resize(image, (SCAN, SCAN), interpolation=cv2.INTER_LINEAR)  # (84, 84)


def write_scan(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)
    return path


def ring() -> np.ndarray:
    """Not a digit: a square with a cross, dark on white."""
    paper = np.full((SCAN, SCAN), 255, np.uint8)  # (84, 84)
    cv2.rectangle(paper, (12, 12), (72, 72), 0, 4)
    cv2.line(paper, (12, 12), (72, 72), 0, 4)
    return paper


def class_folders(root: Path, digits: dict[str, np.ndarray]) -> Path:
    """0/..9/ with one scan each (7's nested a level down) and not-a-digit/ with one."""
    for label, image in digits.items():
        name = f"batch-2/{label}.png" if label == "7" else f"{label}.png"
        write_scan(root / label / name, scan(image))
    write_scan(root / "not-a-digit" / "ring.jpg", ring())
    return root


def seen_by_predict(path: Path) -> np.ndarray:
    """The 28x28 `digitrec predict` gives the model for an image file."""
    images, _, error, _ = prepare(InputItem(str(path), path=str(path)), 0, None, None)
    assert error is None and len(images) == 1
    return images[0]


def stored() -> dict[str, tuple[str, str, str]]:
    """(label, source, reviewer) of each stored row, by fingerprint."""
    return {r.fingerprint: (r.label, r.source, r.reviewer) for r in feedback.read()}


def digitrec(*args: str):
    return CliRunner().invoke(app, list(args))


def test_class_folders_import_every_label_as_predict_reads_the_files(tmp_path, digits):
    root = class_folders(tmp_path / "scans", digits)
    summary = importing.import_labels(root, "clinic-scans", "ana")
    assert (summary.layout, summary.found, summary.imported) == ("class folders", 11, 11)
    assert summary.quarantined == [] and summary.conflicts == []
    assert summary.per_label == {**{str(d): 1 for d in range(10)}, NOT_A_DIGIT: 1}
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert root / "7" / "batch-2" / "7.png" in files  # nested: counts under 7/
    label = {"not-a-digit": NOT_A_DIGIT} | {d: d for d in digits}
    assert stored() == {
        feedback.fingerprint(seen_by_predict(p)): (
            label[p.relative_to(root).parts[0]],
            "clinic-scans",
            "ana",
        )
        for p in files
    }
    assert all(png_pixels(r.image_png).shape == (28, 28) for r in feedback.read())


def test_not_a_digit_folder_may_be_spelled_with_an_underscore(tmp_path, digits):
    write_scan(tmp_path / "in" / "not_a_digit" / "x.png", ring())
    write_scan(tmp_path / "in" / "4" / "a.png", scan(digits["4"]))
    summary = importing.import_labels(tmp_path / "in", "ward-b", "bo")
    assert summary.imported == 2 and summary.per_label[NOT_A_DIGIT] == 1


def test_bad_files_are_quarantined_by_name_and_the_rest_imported(tmp_path, digits):
    folder = tmp_path / "in" / "3"
    good = write_scan(folder / "good.png", scan(digits["3"]))
    (folder / "notes.txt").write_text("scanned on Tuesday")
    whole = cv2.imencode(".png", scan(digits["5"]))[1].tobytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    write_scan(folder / "blank.png", np.full((SCAN, SCAN), 255, np.uint8))
    (tmp_path / "in" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: not an item
    summary = importing.import_labels(tmp_path / "in", "clinic", "ana")
    reasons = {Path(q["item"]).name: q["reason"] for q in summary.quarantined}
    assert sorted(reasons) == ["blank.png", "notes.txt", "truncated.png"]
    assert (
        reasons["notes.txt"] == f"{folder / 'notes.txt'}: not an image (unrecognised file format)"
    )
    assert "truncated.png: could not decode the image data (truncated" in reasons["truncated.png"]
    assert reasons["blank.png"] == f"{folder / 'blank.png'}: blank: no ink found"
    assert (summary.found, summary.imported) == (4, 1)
    assert list(stored()) == [feedback.fingerprint(seen_by_predict(good))]


def test_an_unknown_subfolder_is_an_error_naming_it(tmp_path, digits):
    write_scan(tmp_path / "in" / "2" / "a.png", scan(digits["2"]))
    write_scan(tmp_path / "in" / "train" / "b.png", scan(digits["3"]))
    with pytest.raises(LayoutError, match="unknown subfolder 'train/'; expected one subfolder"):
        importing.import_labels(tmp_path / "in", "clinic", "ana")
    assert feedback.read() == []
    result = digitrec("feedback", "import", str(tmp_path / "in"), "--source", "clinic")
    assert result.exit_code == 2 and "'train/'" in result.stderr


def test_a_file_label_csv_quarantines_bad_lines_by_number(tmp_path, digits):
    relative = write_scan(tmp_path / "lists" / "scans" / "a.png", scan(digits["1"]))
    absolute = write_scan(tmp_path / "elsewhere" / "b.png", scan(digits["8"]))
    other = write_scan(tmp_path / "lists" / "c.png", ring())
    listing = tmp_path / "lists" / "labels.csv"
    rows = [["scans/a.png", "1"], [str(absolute), " 8 "], ["c.png", "Not a digit"]]
    rows += [["scans/missing.png", "2"], ["scans/a.png", "eleven"], ["", "4"]]
    write_rows(listing, ["file", "label"], rows)
    summary = importing.import_labels(listing, "mail-in", "cy")
    assert (summary.layout, summary.found, summary.imported) == ("file,label CSV", 6, 3)
    assert [q["item"] for q in summary.quarantined] == [f"{listing} line {n}" for n in (5, 6, 7)]
    missing, label, empty = (q["reason"] for q in summary.quarantined)
    assert missing.startswith(f"{listing} line 5: ") and "missing.png: file not found" in missing
    choices = "a digit 0..9, 'not a digit' or 'not-a-digit'"
    assert label == f"{listing} line 6: label 'eleven' is not {choices}"
    assert empty == f"{listing} line 7: the file column is empty"
    assert stored() == {
        feedback.fingerprint(seen_by_predict(relative)): ("1", "mail-in", "cy"),
        feedback.fingerprint(seen_by_predict(absolute)): ("8", "mail-in", "cy"),
        feedback.fingerprint(seen_by_predict(other)): (NOT_A_DIGIT, "mail-in", "cy"),
    }


def test_a_kaggle_csv_goes_in_as_its_pixels_and_a_pixel_300_is_quarantined(tmp_path, mnist_arrays):
    images, labels = mnist_arrays[0][:5], mnist_arrays[1][:5]
    rows = [[int(y), *x.reshape(-1).tolist()] for x, y in zip(images, labels, strict=True)]
    rows[2][1 + 12] = 300  # row 3, column pixel12
    path = write_rows(tmp_path / "train.csv", list(TRAIN_COLUMNS), rows)
    summary = importing.import_labels(path, "kaggle", "dee")
    assert (summary.layout, summary.found, summary.imported) == ("Kaggle CSV", 5, 4)
    assert summary.quarantined == [
        {
            "item": f"{path} row 3 (line 4)",
            "reason": f"{path} row 3 (line 4): column 'pixel12': pixel value 300 is outside 0..255",
        }
    ]
    kept = [0, 1, 3, 4]
    assert stored() == {
        feedback.fingerprint(images[i]): (str(labels[i]), "kaggle", "dee") for i in kept
    }


def test_kaggle_rows_pyarrow_cannot_parse_are_named_line_by_line(tmp_path, mnist_arrays):
    images, labels = mnist_arrays[0][:5], mnist_arrays[1][:5]
    rows = [[int(y), *x.reshape(-1).tolist()] for x, y in zip(images, labels, strict=True)]
    rows[1][1 + 5] = "abc"  # row 2, column pixel5
    rows[2] = rows[2][:700]  # row 3: 700 fields
    rows[3][1 + 783] = 300  # row 4, column pixel783
    rows[4][0] = 12  # row 5: no digit
    path = write_rows(tmp_path / "train.csv", list(TRAIN_COLUMNS), rows)
    summary = importing.import_labels(path, "kaggle", "dee")
    assert [q["reason"] for q in summary.quarantined] == [
        f"{path} row 2 (line 3): column 'pixel5': 'abc' is not an integer",
        f"{path} row 3 (line 4): 700 fields, expected 785 (label + 784 pixels)",
        f"{path} row 4 (line 5): column 'pixel783': pixel value 300 is outside 0..255",
        f"{path} row 5 (line 6): column 'label': 12 is not a digit 0..9",
    ]
    assert stored() == {feedback.fingerprint(images[0]): (str(labels[0]), "kaggle", "dee")}


def test_one_image_under_two_labels_is_stored_under_neither(tmp_path, digits):
    root = tmp_path / "in"
    write_scan(root / "3" / "x.png", scan(digits["3"]))
    write_scan(root / "5" / "x.png", scan(digits["3"]))  # the same scan, another label
    write_scan(root / "5" / "y.png", scan(digits["5"]))
    write_scan(root / "5" / "y-copy.png", scan(digits["5"]))  # a repeat: stored once
    summary = importing.import_labels(root, "clinic", "ana")
    assert summary.conflicts == [
        {"item": str(root / "3" / "x.png"), "labels": ["3", "5"], "stored": None},
        {"item": str(root / "5" / "x.png"), "labels": ["3", "5"], "stored": None},
    ]
    assert (summary.imported, summary.repeated, summary.per_label["5"]) == (1, 1, 1)
    assert [row.label for row in feedback.read()] == ["5"]


def test_an_image_stored_with_another_label_is_a_conflict_not_a_relabel(tmp_path, digits):
    write_scan(tmp_path / "first" / "4" / "a.png", scan(digits["4"]))
    write_scan(tmp_path / "second" / "9" / "a.png", scan(digits["4"]))
    write_scan(tmp_path / "second" / "9" / "b.png", scan(digits["9"]))
    importing.import_labels(tmp_path / "first", "clinic", "ana")
    summary = importing.import_labels(tmp_path / "second", "ward-b", "bo")
    item = str(tmp_path / "second" / "9" / "a.png")
    assert summary.conflicts == [{"item": item, "labels": ["4", "9"], "stored": "4"}]
    assert summary.imported == 1
    assert sorted(r.label for r in feedback.latest_labels()) == ["4", "9"]
    assert "one image, different labels: stored under none" in importing.to_text(summary)


def test_a_second_import_stores_nothing_new(tmp_path, digits):
    root = class_folders(tmp_path / "scans", digits)
    first = digitrec("feedback", "import", str(root), "--source", "clinic", "--json")
    assert first.exit_code == 0, first.output
    again = digitrec("feedback", "import", str(root), "--source", "clinic")
    assert again.exit_code == 0, again.output
    assert "imported         0 of 11" in again.stdout
    assert "already stored   11" in again.stdout
    assert len(feedback.read()) == 11


def test_json_is_one_object_matching_the_store(tmp_path, digits):
    root = class_folders(tmp_path / "scans", digits)
    result = digitrec(
        "feedback", "import", str(root), "--source", "clinic", "--reviewer", "eve", "--json"
    )
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    summary = json.loads(line)
    assert summary | {"seconds": 0} == {
        "path": str(root),
        "layout": "class folders",
        "source": "clinic",
        "reviewer": "eve",
        "found": 11,
        "imported": 11,
        "already_stored": 0,
        "repeated": 0,
        "conflicts": [],
        "quarantined": [],
        "per_label": {**{str(d): 1 for d in range(10)}, NOT_A_DIGIT: 1},
        "seconds": 0,
    }
    assert set(stored().values()) == {(label, "clinic", "eve") for label in summary["per_label"]}
    # The new labels are announced as `digitrec label` announces them; no server: not sent.
    # The announcement goes to stderr, sent or not (a session-wide test server may listen).
    announced = r"^digitrec\.feedback\.added: (sent|not sent: [^;]+); 11 of 100 labels"
    assert re.search(announced, result.stderr, re.M), result.stderr
    report = json.loads(digitrec("feedback", "--json").stdout)
    assert report["total"] == 11 and report["not_a_digit"] == 1


def test_exit_statuses(tmp_path, digits):
    bad = tmp_path / "bad" / "6"
    bad.mkdir(parents=True)
    (bad / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "notes.txt").write_text("file,label\n")
    (tmp_path / "other.csv").write_text("name,digit\na.png,3\n")
    write_scan(tmp_path / "good" / "6" / "a.png", scan(digits["6"]))
    assert digitrec("feedback", "import", str(tmp_path / "bad"), "--source", "x").exit_code == 1
    missing = digitrec("feedback", "import", str(tmp_path / "nope"), "--source", "x")
    assert missing.exit_code == 2 and f"{tmp_path / 'nope'}: not found; expected" in missing.stderr
    other = digitrec("feedback", "import", str(tmp_path / "other.csv"), "--source", "x")
    assert other.exit_code == 2 and "columns 'name,digit' are none of the layouts" in other.stderr
    empty = digitrec("feedback", "import", str(tmp_path / "notes.txt"), "--source", "x")
    assert empty.exit_code == 2 and "nothing to import in the file,label CSV" in empty.stderr
    refused = digitrec("feedback", "import", str(tmp_path / "good"), "--source", "Clinic Scans")
    assert refused.exit_code == 2 and "source 'Clinic Scans' is not one of" in refused.stderr
    assert digitrec("feedback", "import", str(tmp_path / "good")).exit_code == 2  # no --source
    assert digitrec("feedback", "import", str(tmp_path / "good"), "--source", "x").exit_code == 0
    assert digitrec("feedback", "import", str(tmp_path / "good"), "--source", "x").exit_code == 0


def test_rows_the_suite_fails_are_quarantined_with_its_text(tmp_path, digits):
    root = tmp_path / "in"
    write_scan(root / "1" / "a.png", scan(digits["1"]))
    write_scan(root / "2" / "b.png", scan(digits["2"]))
    write_scan(root / "not-a-digit" / "c.png", ring())
    summary = importing.import_labels(root, "clinic", "ana", ValidationBounds(max_train_rows=1))
    assert [Path(q["item"]).name for q in summary.quarantined] == ["a.png", "b.png"]
    reason = summary.quarantined[0]["reason"]
    assert "failed the Great Expectations suite: data validation failed" in reason
    assert "row count" in reason
    assert [row.label for row in feedback.read()] == [NOT_A_DIGIT]


def test_the_suite_runs_with_the_bounds_training_uses():
    from digitrec.pipeline import feedback as training_feedback

    assert training_feedback.FEEDBACK_BOUNDS is importing.FEEDBACK_BOUNDS  # declared once


def test_an_import_name_is_a_source_the_store_accepts():
    assert all(feedback.is_source(n) for n in ("app", "cli", "clinic-scans", "ward_2", "k" * 32))
    assert not any(feedback.is_source(n) for n in ("Clinic", "-x", "a b", "k" * 33, "", None))
