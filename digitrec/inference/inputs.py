"""What a predict call reads: image files, folders, Kaggle CSV rows and inline data-URI images,
expanded into one item each in input order. With `roots`, as the predict flow passes for remote
callers, a path is read only when it lies (links and '..' resolved) inside one of those folders.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitrec.data.kaggle import DataError, excerpt, load_csv
from digitrec.inference.files import IMAGE_SUFFIXES, MAX_FILE_BYTES
from digitrec.storage import REPO_ROOT, inbox_dir

ROOTS_ENV = "DIGITREC_INPUT_ROOTS"  # extra folders the predict flow may read, os.pathsep-separated
INLINE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/bmp", "image/tiff")
MAX_BASE64_CHARS = 4 * -(-MAX_FILE_BYTES // 3)  # the base64 text of MAX_FILE_BYTES of image


@dataclass(frozen=True)
class InputItem:
    """One thing to predict: an image file, a CSV row's 28x28 pixels, an inline image's bytes,
    or an input that failed."""

    name: str
    path: str | None = None
    pixels: np.ndarray | None = None  # (28, 28) uint8, already MNIST-style
    error: str | None = None
    data: bytes | None = field(default=None, repr=False)  # an inline image, still encoded


def expand_inputs(
    inputs: Sequence[str | Path] | str | Path,
    roots: Sequence[Path] | None = None,
) -> list[InputItem]:
    """Image files, folders (their images, sorted), CSVs (one item per row) and data URIs, in
    input order. `roots`: None reads any path."""
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    resolved = None if roots is None else [Path(root).resolve() for root in roots]
    items: list[InputItem] = []
    inline = 0
    for raw in inputs:
        if isinstance(raw, str) and is_data_uri(raw):
            inline += 1
            items.append(inline_item(raw, f"inline image {inline}"))
        else:
            items += path_items(raw, resolved)
    return items


def path_items(raw: str | Path, roots: Sequence[Path] | None) -> list[InputItem]:
    """The items one path stands for; a path outside `roots` is refused without being read."""
    path = Path(raw)
    if roots is not None and not within(path, roots):
        return [refused(str(raw))]
    if path.is_dir():
        return [confined(item, roots) for item in folder_items(path)]
    if path.suffix.lower() == ".csv" and path.is_file():
        return csv_items(path)
    if not path.exists():
        return [InputItem(str(raw), error=f"{raw}: file or folder not found")]
    return [InputItem(str(raw), path=str(path))]


def folder_items(folder: Path) -> list[InputItem]:
    """A folder's image files (not its subfolders, not hidden files), sorted by name."""
    try:
        files = sorted(p for p in folder.iterdir() if is_image_file(p))
    except OSError as error:
        return [InputItem(str(folder), error=f"{folder}: cannot list the folder ({error})")]
    if not files:
        suffixes = " ".join(IMAGE_SUFFIXES)
        return [InputItem(str(folder), error=f"{folder}: folder has no image files ({suffixes})")]
    return [InputItem(str(p), path=str(p)) for p in files]


def is_image_file(path: Path) -> bool:
    return (
        path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def csv_items(path: Path) -> list[InputItem]:
    """One item per row of a Kaggle train or test CSV, named `file.csv#row12` (1-based)."""
    try:
        digits = load_csv(path, kind="auto", cache=False)
    except (DataError, OSError) as error:
        return [InputItem(str(path), error=str(error))]
    return [
        InputItem(f"{path}#row{row}", pixels=image)
        for row, image in enumerate(digits.images, start=1)
    ]


def is_data_uri(raw: str) -> bool:
    return raw.lstrip()[:5].lower() == "data:"


def inline_item(uri: str, name: str) -> InputItem:
    """A data URI's image bytes, or why there are none; the name never repeats the payload."""
    header, comma, payload = uri.strip().partition(",")
    media = header[len("data:") :].lower()
    if not comma or not media.endswith(";base64"):
        expected = "expected data:image/png;base64,<base64 data>"
        return InputItem(name, error=f"{name}: not a base64 data URI ({expected})")
    media = media.removesuffix(";base64")
    if media not in INLINE_TYPES:
        supported = ", ".join(INLINE_TYPES)
        error = (
            f"{name}: media type '{excerpt(media)}' is not an image type (supported: {supported})"
        )
        return InputItem(name, error=error)
    if len(payload) > MAX_BASE64_CHARS:
        return InputItem(
            name,
            error=f"{name}: {len(payload):,} base64 characters, over the {MAX_BASE64_CHARS:,} "
            f"limit ({MAX_FILE_BYTES // 2**20} MB of image data)",
        )
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)  # line breaks allowed
    except binascii.Error as error:
        return InputItem(name, error=f"{name}: not base64 ({error})")
    return InputItem(name, data=data)


def allowed_roots() -> list[Path]:
    """The folders the predict flow reads for remote callers: the repo's samples/, the inbox
    under $DIGITREC_HOME, and the folders named in $DIGITREC_INPUT_ROOTS."""
    entries = os.environ.get(ROOTS_ENV, "").split(os.pathsep)
    extra = [Path(entry).expanduser() for entry in entries if entry.strip()]
    return [folder.resolve() for folder in (REPO_ROOT / "samples", inbox_dir(), *extra)]


def within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, with symlinks and '..' resolved, lies inside one of the resolved roots."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop or a NUL in the name
        return False
    return any(resolved.is_relative_to(root) for root in roots)


def confined(item: InputItem, roots: Sequence[Path] | None) -> InputItem:
    """A folder's file, refused when it is a link that leads outside the roots."""
    if roots is None or item.path is None or within(Path(item.path), roots):
        return item
    return refused(item.name)


def refused(name: str) -> InputItem:
    return InputItem(
        name,
        error=f"{name}: outside the allowed input roots (samples/, {inbox_dir()}/ and {ROOTS_ENV})",
    )
