"""Input expansion: inline data-URI images under the same guards as files, the allowed input
roots of the predict flow, and file content clipped out of error messages."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.data.kaggle import DataError, excerpt, load_csv
from digitrec.inference.inputs import MAX_BASE64_CHARS, allowed_roots, expand_inputs
from digitrec.inference.prediction import prepare
from digitrec.storage import REPO_ROOT
from tests.inference.test_imaging import drawn_digit, png_bomb
from tests.predictions import predict_inputs

SEVEN = REPO_ROOT / "samples" / "seven.png"


def data_uri(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def seen(item) -> np.ndarray:
    """The 28x28 image the model would get for one item."""
    images, _, error, _ = prepare(item, 0, False, None)
    assert error is None, error
    return images[0]  # (28, 28)


# ---- inline images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "media"),
    [(".png", "png"), (".jpg", "jpeg"), (".webp", "webp"), (".bmp", "bmp"), (".tiff", "tiff")],
)
def test_data_uris_read_as_their_files(tmp_path, suffix, media):
    path = tmp_path / f"digit{suffix}"
    cv2.imwrite(str(path), drawn_digit())
    file_item, inline = expand_inputs([str(path), data_uri(path.read_bytes(), f"image/{media}")])
    assert inline.name == "inline image 1" and inline.path is None and inline.error is None
    np.testing.assert_array_equal(seen(inline), seen(file_item))


def test_bad_inline_images_fail_alone(strong_model_path, tmp_path):
    png = cv2.imencode(".png", drawn_digit())[1].tobytes()
    bomb = png_bomb(tmp_path / "bomb.png", 10_000).read_bytes()
    oversize = "data:image/png;base64," + "A" * (MAX_BASE64_CHARS + 4)
    inputs = [
        data_uri(SEVEN.read_bytes()),
        oversize,
        "data:image/png;base64,not*base64!",
        data_uri(png, "text/html"),
        "data:image/png," + base64.b64encode(png).decode(),
        data_uri(png[: len(png) // 2]),
        data_uri(bomb),
        str(SEVEN),
    ]
    predictions = predict_inputs(strong_model_path, inputs)
    assert [p.input for p in predictions[:7]] == [f"inline image {n}" for n in range(1, 8)]
    good, *bad, good_file = predictions
    assert good.digit == 7 and good.error is None and good_file.digit == 7
    expected = [
        "inline image 2: 69,905,072 base64 characters, over the 69,905,068 limit (50 MB",
        "inline image 3: not base64",
        "inline image 4: media type 'text/html' is not an image type",
        "inline image 5: not a base64 data URI",
        "inline image 6: could not decode the image data (truncated or corrupt",
        "inline image 7: image is 10000x10000 (100.0 megapixels), over the 40 megapixel limit",
    ]
    for prediction, message in zip(bad, expected, strict=True):
        assert prediction.error.startswith(message), prediction.error
        assert len(prediction.error) < 200  # never the payload


def test_inline_image_name_is_kept_short_when_saved(strong_model_path, tmp_path):
    predict_inputs(strong_model_path, [data_uri(SEVEN.read_bytes())], save_preprocessed_to=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["0000-inline_image_1.png"]


# ---- allowed input roots ------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    """A root holding an image and links out of it, and a secret image beside the root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "scans").mkdir(parents=True)
    outside.mkdir()
    for folder in (root, root / "scans", outside):
        cv2.imwrite(str(folder / "digit.png"), drawn_digit())
    (root / "link.png").symlink_to(outside / "digit.png")
    (root / "scans" / "leak.png").symlink_to(outside / "digit.png")
    (root / "door").symlink_to(outside, target_is_directory=True)
    return {"root": root, "outside": outside}


def refused(item) -> bool:
    return item.error is not None and "outside the allowed input roots" in item.error


def test_paths_inside_a_root_are_read(tree):
    (item,) = expand_inputs([tree["root"] / "digit.png"], roots=[tree["root"]])
    assert item.error is None and item.path == str(tree["root"] / "digit.png")


def test_escapes_are_refused_unread(tree):
    root = tree["root"]
    escapes = [root / ".." / "outside" / "digit.png", root / "link.png", root / "door"]
    items = expand_inputs(escapes, roots=[root])
    assert len(items) == 3 and all(refused(item) for item in items)
    assert items[0].error.startswith(f"{escapes[0]}: outside the allowed input roots (samples/, ")
    assert items[0].error.endswith("/inbox/ and DIGITREC_INPUT_ROOTS)")
    missing = expand_inputs([tree["outside"] / "gone.png"], roots=[root])[0]
    assert refused(missing)  # no hint whether a file outside exists


def test_a_link_in_a_folder_cannot_lead_out(tree):
    scanned = expand_inputs([tree["root"] / "scans"], roots=[tree["root"]])
    assert [(Path(i.name).name, refused(i)) for i in scanned] == [
        ("digit.png", False),
        ("leak.png", True),
    ]


def test_default_roots_and_the_environment_setting(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DIGITREC_INPUT_ROOTS", raising=False)
    assert allowed_roots() == [REPO_ROOT / "samples", (tmp_path / "home" / "inbox").resolve()]
    (tmp_path / "home" / "inbox").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "home" / "inbox" / "mine.png"), drawn_digit())
    inside = [SEVEN, tmp_path / "home" / "inbox" / "mine.png"]
    assert all(i.error is None for i in expand_inputs(inside, allowed_roots()))
    assert refused(expand_inputs([tree["root"] / "digit.png"], allowed_roots())[0])

    extra = os.pathsep.join([str(tree["root"]), "", str(tmp_path / "else")])
    monkeypatch.setenv("DIGITREC_INPUT_ROOTS", extra)
    assert allowed_roots()[2:] == [tree["root"].resolve(), (tmp_path / "else").resolve()]
    assert expand_inputs([tree["root"] / "digit.png"], allowed_roots())[0].error is None


def test_relative_paths_resolve_against_the_working_directory(tree, monkeypatch):
    monkeypatch.chdir(tree["root"] / "scans")
    assert expand_inputs(["digit.png"], roots=[tree["root"]])[0].error is None
    assert refused(expand_inputs(["../../outside/digit.png"], roots=[tree["root"]])[0])


def test_without_roots_any_path_is_read(tree):
    items = expand_inputs([tree["outside"] / "digit.png", tree["root"] / "link.png"])
    assert [item.error for item in items] == [None, None]


def test_inline_images_need_no_root(tree):
    (item,) = expand_inputs([data_uri(SEVEN.read_bytes())], roots=[tree["root"]])
    assert item.error is None and item.data == SEVEN.read_bytes()


# ---- file content in errors ---------------------------------------------------------------


def test_excerpt_is_short_and_printable():
    assert excerpt("pixel0") == "pixel0"
    assert excerpt("\x1b[31m" + "x" * 40) == "?[31m" + "x" * 15 + "..."


def test_csv_errors_quote_at_most_a_short_excerpt(tmp_path, test_header):
    header = tmp_path / "header.csv"
    header.write_text(",".join(["\x07" + "secret" * 30, *test_header[1:]]) + "\n")
    with pytest.raises(DataError, match=r"column 1 is '\?secretsecretsecrets\.\.\.', expected"):
        load_csv(header, cache=False)
    cell = tmp_path / "cell.csv"
    row = ["0"] * 784
    row[3] = "\x00" + "password" * 20
    cell.write_text(",".join(test_header) + "\n" + ",".join(row) + "\n")
    with pytest.raises(DataError, match=r"'pixel3': '\?passwordpasswordpas\.\.\.' is not an"):
        load_csv(cell, cache=False)
