"""Prediction over files, folders and CSVs with a tiny real model: bad inputs, known digits,
photo-like renders, shift invariance and written numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.constants import LABEL_NAMES, PIXEL_COLUMNS, TRAIN_COLUMNS
from digitrec.inference.inputs import expand_inputs
from digitrec.inference.prediction import (
    LOW_CONFIDENCE,
    Prediction,
)
from digitrec.inference.predictions_csv import CSV_COLUMNS, write_predictions_csv
from tests.conftest import write_rows
from tests.inference.test_imaging import drawn_digit, number_image, photo_like, png_bomb
from tests.predictions import predict_inputs

KNOWN = slice(60_000, 60_300)  # real MNIST test digits, never trained on here


@pytest.fixture(scope="session")
def tiny_model_path(mnist_arrays, tmp_path_factory) -> Path:
    """A small CNN (Rescaling inside) trained 3 epochs on 10,000 real digits: ~96% accurate."""
    import keras

    images, labels = mnist_arrays
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    x = images[:10_000, ..., np.newaxis].astype(np.float32)  # (10000, 28, 28, 1)
    model.fit(x, labels[:10_000], epochs=3, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("tiny-model") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def known(mnist_arrays) -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_arrays
    return images[KNOWN], labels[KNOWN]


def write_test_csv(path: Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """A Kaggle-format CSV of uint8 (N, 28, 28) images, with a label column when given labels."""
    flat = images.reshape(len(images), -1).tolist()
    if labels is None:
        return write_rows(path, list(PIXEL_COLUMNS), flat)
    return write_rows(
        path, list(TRAIN_COLUMNS), [[int(y), *row] for y, row in zip(labels, flat, strict=True)]
    )


def digits_of(predictions: list[Prediction]) -> np.ndarray:
    return np.array([-1 if p.digit is None else p.digit for p in predictions])


# ---- expanding inputs ---------------------------------------------------------------------


def test_expand_folders_csvs_files_and_missing(tmp_path, known):
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("b.png", "a.jpg", "C.webp", ".hidden.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (folder / "sub").mkdir()
    (tmp_path / "empty").mkdir()
    rows = write_test_csv(tmp_path / "rows.csv", known[0][:3])
    items = expand_inputs([folder, str(rows), tmp_path / "gone.png", tmp_path / "empty"])
    names = [Path(item.name).name for item in items]
    assert names == ["C.webp", "a.jpg", "b.png", "rows.csv#row1", "rows.csv#row2"] + [
        "rows.csv#row3",
        "gone.png",
        "empty",
    ]
    assert items[3].pixels.shape == (28, 28) and items[3].path is None
    assert "gone.png: file or folder not found" in items[6].error
    assert "folder has no image files" in items[7].error
    assert [item.name for item in expand_inputs(str(rows))][0].endswith("rows.csv#row1")


# ---- predicting ---------------------------------------------------------------------------


def bad_inputs(folder: Path) -> dict[str, str]:
    """Every kind of bad input, each with a piece of the error it must produce."""
    folder.mkdir()
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image\n" * 10)
    for suffix in (".png", ".jpg"):
        data = cv2.imencode(suffix, drawn_digit())[1].tobytes()
        (folder / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    cv2.imwrite(str(folder / "dot.png"), np.zeros((1, 1), np.uint8))
    cv2.imwrite(str(folder / "blank.png"), np.full((300, 300), 250, np.uint8))
    png_bomb(folder / "bomb.png", 10_000)
    header, good = list(PIXEL_COLUMNS), [0] * 784
    write_rows(folder / "columns.csv", ["pixelX", *header[1:]], [good])
    write_rows(folder / "range.csv", header, [good, [*good[:-1], 256]])
    write_rows(folder / "gap.csv", header, [[*good[:5], "", *good[6:]]])
    write_rows(folder / "short.csv", header, [good, good[:-1]])
    return {
        "missing.png": "file or folder not found",
        "empty.png": "empty file",
        "text.png": "not an image",
        "cut.png": "truncated or corrupt",
        "cut.jpg": "truncated or corrupt",
        "dot.png": "image is 1x1, too small",
        "blank.png": "blank: no ink found",
        "bomb.png": "megapixel limit; refused without decoding",
        "columns.csv": "column 1 is 'pixelX', expected 'pixel0'",
        "range.csv": "row 2 (line 3), column 'pixel783': pixel value 256 is outside 0..255",
        "gap.csv": "row 1 (line 2), column 'pixel5': missing value",
        "short.csv": "row 2 (line 3): 783 fields, expected 784",
    }


def test_bad_inputs_are_reported_and_good_ones_still_predicted(tiny_model_path, tmp_path, known):
    images, labels = known
    expected = bad_inputs(tmp_path / "bad")
    good_png = tmp_path / "seven.png"
    cv2.imwrite(str(good_png), images[0])
    good_csv = write_test_csv(tmp_path / "good.csv", images[1:4], labels[1:4])
    inputs = [good_png, *(tmp_path / "bad" / name for name in expected), good_csv]
    predictions = predict_inputs(tiny_model_path, inputs)
    assert len(predictions) == 1 + len(expected) + 3
    for prediction, (name, reason) in zip(predictions[1:-3], expected.items(), strict=True):
        assert prediction.error is not None and reason in prediction.error, name
        assert prediction.input.endswith(name) and prediction.digit is None
    good = [predictions[0], *predictions[-3:]]
    assert all(p.error is None for p in good)
    assert sum(p.digit == y for p, y in zip(good, labels[:4], strict=True)) >= 3
    json.dumps([p.to_dict() for p in predictions])  # JSON-serialisable, errors included


def test_every_input_bad_still_gives_one_entry_each(tiny_model_path, tmp_path):
    predictions = predict_inputs(tiny_model_path, [tmp_path / "a.png", tmp_path / "b.csv"])
    assert [p.error.endswith("file or folder not found") for p in predictions] == [True, True]


def test_missing_model_and_bad_top_k(tiny_model_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.keras: model file not found"):
        predict_inputs(tmp_path / "nope.keras", [tmp_path])
    with pytest.raises(ValueError, match="top_k must be 1..10"):
        predict_inputs(tiny_model_path, [tmp_path], top_k=0)


def test_fields_top_k_and_low_confidence(tiny_model_path, tmp_path, known):
    rows = write_test_csv(tmp_path / "rows.csv", known[0][:40])
    predictions = predict_inputs(tiny_model_path, [rows], top_k=3)
    for p in predictions:
        probabilities = [t["probability"] for t in p.top_k]
        assert len(p.top_k) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert p.top_k[0]["digit"] == p.digit and p.top_k[0]["probability"] == p.confidence
        assert (
            p.name == LABEL_NAMES[p.digit]
            and p.top_k[1]["name"] == LABEL_NAMES[p.top_k[1]["digit"]]
        )
        assert p.low_confidence == (p.confidence < LOW_CONFIDENCE)
        assert p.digits is None and p.digit_confidences is None
    everything = predict_inputs(tiny_model_path, [rows], top_k=10)[0]
    assert sum(t["probability"] for t in everything.top_k) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow  # 300 photo renders read through files
def test_known_digits_raw_rows_versus_photo_like_renders(tiny_model_path, tmp_path, known):
    images, labels = known
    rows = write_test_csv(tmp_path / "known.csv", images, labels)
    raw = (digits_of(predict_inputs(tiny_model_path, [rows])) == labels).mean()
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(11)
    for i, digit in enumerate(images):
        cv2.imwrite(str(photos / f"{i:03d}.jpg"), photo_like(digit, rng))
    predictions = predict_inputs(tiny_model_path, [photos])
    photo = (digits_of(predictions) == labels).mean()
    print(f"tiny model: raw rows {raw:.1%}, photo-like renders {photo:.1%}")
    assert raw >= 0.9
    assert photo >= raw - 0.03
    assert all(p.digits is None for p in predictions)  # no single digit was read as a number


@pytest.mark.slow  # 300 images written and read twice
def test_two_pixel_shift_of_an_image_changes_few_predictions(tiny_model_path, tmp_path, known):
    images = known[0][:150]
    plain, shifted = tmp_path / "plain", tmp_path / "shifted"
    plain.mkdir(), shifted.mkdir()
    for i, digit in enumerate(images):
        canvas = np.zeros((40, 40), np.uint8)
        canvas[6:34, 6:34] = digit
        cv2.imwrite(str(plain / f"{i:03d}.png"), canvas)
        cv2.imwrite(str(shifted / f"{i:03d}.png"), np.roll(canvas, (2, -2), axis=(0, 1)))
    before = digits_of(predict_inputs(tiny_model_path, [plain]))
    after = digits_of(predict_inputs(tiny_model_path, [shifted]))
    assert (before == after).mean() >= 0.98  # preprocessing re-centres: the shift is undone


def test_written_numbers_read_as_digit_strings(tiny_model_path, tmp_path, known):
    images, labels = known
    rng = np.random.default_rng(12)
    truth = []
    for k in range(40):
        chosen = rng.choice(len(images), size=int(rng.integers(3, 5)), replace=False)
        cv2.imwrite(str(tmp_path / f"{k:02d}.jpg"), number_image(images[chosen], rng))
        truth.append("".join(str(int(y)) for y in labels[chosen]))
    predictions = predict_inputs(tiny_model_path, [tmp_path])
    read = [p.digits for p in predictions]
    exact = np.mean([got == want for got, want in zip(read, truth, strict=True)])
    print(f"tiny model: written numbers read exactly {exact:.1%}")
    assert (
        np.mean([len(got or "") == len(want) for got, want in zip(read, truth, strict=True)])
        >= 0.95
    )
    assert exact >= 0.7
    for p in predictions:
        assert p.digit is None and p.name is None and p.top_k == []
        assert p.confidence == pytest.approx(np.prod(p.digit_confidences))
        assert len(p.digit_confidences) == len(p.digits)


def test_multi_digit_modes(tiny_model_path, tmp_path, known):
    images, _ = known
    number = tmp_path / "number.jpg"
    cv2.imwrite(str(number), number_image(images[:3], np.random.default_rng(13)))
    single = tmp_path / "single.png"
    cv2.imwrite(str(single), images[0])
    forced_single = predict_inputs(tiny_model_path, [number], multi_digit=False)[0]
    assert forced_single.digit is not None and forced_single.digits is None
    forced_number = predict_inputs(tiny_model_path, [single], multi_digit=True)[0]
    assert forced_number.digit is None and len(forced_number.digits) == 1


def test_save_preprocessed_writes_what_the_model_saw(tiny_model_path, tmp_path, known):
    images, _ = known
    cv2.imwrite(str(tmp_path / "one.png"), 255 - cv2.resize(images[0], None, fx=5, fy=5))
    cv2.imwrite(str(tmp_path / "number.jpg"), number_image(images[1:4], np.random.default_rng(14)))
    seen = tmp_path / "seen"
    predict_inputs(tiny_model_path, [tmp_path / "one.png", tmp_path / "number.jpg"], 3, seen)
    names = sorted(p.name for p in seen.iterdir())
    assert names == ["0000-one.png", "0001-number-1.png", "0001-number-2.png", "0001-number-3.png"]
    assert cv2.imread(str(seen / "0000-one.png"), cv2.IMREAD_GRAYSCALE).shape == (28, 28)


def test_write_predictions_csv(tmp_path):
    predictions = [
        Prediction("a.png", 7, "seven", 0.9, [{"digit": 7, "name": "seven", "probability": 0.9}]),
        Prediction("n.jpg", confidence=0.5, low_confidence=True, digits="026",
                   digit_confidences=[0.9, 0.8, 0.7]),
        Prediction("bad, \"quoted\".png", error="bad.png: empty file"),
    ]  # fmt: skip
    path = write_predictions_csv(predictions, tmp_path / "out" / "predictions.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0] | {} == {
        "input": "a.png",
        "digit": "7",
        "name": "seven",
        "confidence": "0.900000",
        "low_confidence": "false",
        "top_k": "7:0.900000",
        "digits": "",
        "rejected": "false",
        "reason": "",
        "error": "",
    }
    assert rows[1]["digits"] == "026" and rows[1]["low_confidence"] == "true"
    assert rows[2]["input"] == 'bad, "quoted".png' and rows[2]["error"] == "bad.png: empty file"
    assert [p.name for p in path.parent.iterdir()] == ["predictions.csv"]  # no temp file left


def test_the_digit_model_scores_only_what_the_number_reader_did_not_read(tmp_path):
    """Digits the number reader read keep its rows; the digit model sees only the others."""
    from digitrec.inference.inputs import InputItem
    from digitrec.inference.prediction import Reader

    seen: list[int] = []

    def digit_model(batch: np.ndarray) -> np.ndarray:  # (N, 28, 28, 1) -> (N, 10)
        seen.append(len(batch))
        return np.tile(np.eye(10, dtype=np.float32)[7], (len(batch), 1))

    reader = Reader(tmp_path / "model.keras", "auto")
    reader.__dict__.update(predictor=digit_model, gate=None)  # no file to load either from
    blank = np.zeros((28, 28), np.uint8)
    number_rows = np.eye(10, dtype=np.float32)[[4, 2]]  # the reader read "42"
    items = [InputItem("number.png", path="number.png"), InputItem("digit.png", path="digit.png")]
    prepared = [([blank, blank], True, None, number_rows), ([blank], False, None, None)]
    number, digit = reader.read(items, prepared, top_k=3)
    assert seen == [1]  # one call, for the one digit the reader did not read
    assert number.digits == "42" and digit.digit == 7
