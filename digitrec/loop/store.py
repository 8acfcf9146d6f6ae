"""What the prediction log and the feedback store share: JSON lines appended under a flock,
UTC time stamps that compare as strings, and small grayscale images as base64 PNG text."""

from __future__ import annotations

import base64
import binascii
import fcntl
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec.constants import IMAGE_SIZE

LOCK = ".lock"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_PNG_CHARS = 1 << 20
MAX_PNG_PIXELS = IMAGE_SIZE * IMAGE_SIZE * 100  # a number of up to 100 digits


@contextmanager
def locked(folder: Path, shared: bool = False) -> Iterator[None]:
    """Hold a flock on folder/.lock: one writer at a time across processes, readers beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append_bytes(path: Path, blob: bytes) -> None:
    """One O_APPEND write (call under `locked`); starts a fresh line after a torn one."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            blob = b"\n" + blob  # a writer died mid-line: keep its fragment off our first record
        written = os.write(fd, blob)
        if written != len(blob):
            raise OSError(f"{path}: wrote {written} of {len(blob)} bytes (disk full?)")
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[str]:
    """A JSON-lines file's complete lines; a missing file is empty, a torn last line is dropped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return data.decode("utf-8", errors="replace").split("\n")[:-1]


def utc_now() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def time_key(text: str) -> str:
    """An ISO time as stored (UTC, seconds, Z), so times compare as strings; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"since={text!r}: expected an ISO time such as 2026-11-24T10:15:00Z"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def png_base64(image: np.ndarray) -> str:
    """A uint8 grayscale image (H, W) as base64 PNG text, small enough for a JSON line."""
    pixels = np.ascontiguousarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise ValueError(f"expected a uint8 (H, W) image, got {pixels.dtype} {pixels.shape}")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_pixels(text: str) -> np.ndarray:
    """Decode base64 PNG text that must hold a small 8-bit grayscale image; uint8 (H, W).

    Error messages complete "image_png is ...", for callers that name the field.
    """
    if not isinstance(text, str) or len(text) > MAX_PNG_CHARS:
        raise ValueError("not base64 PNG text under 1 MiB")
    try:
        with Image.open(io.BytesIO(base64.b64decode(text, validate=True))) as image:
            if image.format != "PNG" or image.mode != "L":
                raise ValueError(f"not an 8-bit grayscale PNG (got {image.format} {image.mode})")
            if image.width * image.height > MAX_PNG_PIXELS:  # checked before decoding
                raise ValueError(f"{image.width}x{image.height}, too large for a digit image")
            return np.asarray(image, dtype=np.uint8).copy()
    except (binascii.Error, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"not a readable base64 PNG ({error})") from error
