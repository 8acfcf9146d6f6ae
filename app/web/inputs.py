"""Request bodies to grayscale images: bounded reads, multipart or raw bytes, and the same
header checks as image files, so every bad input becomes a 4xx with its reason."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import numpy as np
from starlette.requests import Request

from digitrec.inference import files
from digitrec.inference.files import MAX_FILE_BYTES, ImageError

MAX_BODY_BYTES = min(10 * 2**20, MAX_FILE_BYTES)  # a phone photo fits; bigger is no drawing
MAX_NAME = 120  # characters of a client's file name kept for the log


class InputError(ValueError):
    """A request the app refuses: `status` is the HTTP code, the message the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refused (413) as soon as it passes `limit`, before it is all received."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputError(413, f"request body is {int(declared):,} bytes, over the {limit:,} limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(413, f"request body is over the {limit:,} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def upload(content_type: str, body: bytes) -> tuple[str, bytes]:
    """(file name, file bytes) from a multipart form's first file, or a raw image body."""
    if not content_type.lower().startswith("multipart/form-data"):
        return "canvas.png", body
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise InputError(400, "malformed multipart body")
    for part in message.iter_parts():
        if part.get_filename() is not None:
            return clean_name(part.get_filename()), part.get_payload(decode=True) or b""
    raise InputError(400, "multipart body holds no file (send one as form field `file`)")


def clean_name(name: str) -> str:
    """A client's file name as a label only: its last path part, printable, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:MAX_NAME] or "upload"


def decode(data: bytes, name: str) -> np.ndarray:
    """Grayscale uint8 (H, W) from image bytes: the library's decoder, with its limits."""
    if not data:
        raise InputError(400, f"{name}: empty body: send a PNG or a photo")
    try:
        return files.decode_image(data, name)  # (H, W)
    except ImageError as error:
        raise InputError(status_for(str(error)), str(error)) from error


def status_for(reason: str) -> int:
    """413 for images too large to decode, 415 for non-images, 422 for blank, else 400."""
    if "megapixel" in reason or "refused without decoding" in reason or "MB limit" in reason:
        return 413
    if "not an image" in reason or "unsupported image format" in reason:
        return 415
    if "blank" in reason:
        return 422
    return 400
