"""Read image files safely: size and pixel limits checked from the header before decoding,
EXIF orientation applied, any format and bit depth turned into grayscale uint8."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np

from digitrec.constants import PIXEL_MAX

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 8
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
FORMATS = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "BMP": "BMP",
    "TIFF": "TIFF",
    "WEBP": "WebP",
}


class ImageError(ValueError):
    """An image is unusable; the message names the file and the reason."""


def read_image(path: Path | str) -> np.ndarray:
    """Read an image file as grayscale uint8 (H, W), refusing bombs and broken files."""
    path = Path(path)
    return decode_image(read_guarded_bytes(path), str(path))


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Encoded image bytes (a file's or an inline image's) as grayscale uint8 (H, W), guarded."""
    check_size(name, len(data))
    orientation = probe_header(name, data)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ImageError(f"{name}: could not decode the image data (truncated or corrupt data)")
    return to_gray(apply_orientation(decoded, orientation))  # (H, W)


def read_guarded_bytes(path: Path) -> bytes:
    """The file's bytes, after checking it exists, is not empty and is under the size limit."""
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    check_size(str(path), path.stat().st_size)
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read the file ({error.strerror or error})") from error


def check_size(name: str, size: int) -> None:
    """Refuse empty data and data over MAX_FILE_BYTES before anything reads or decodes it."""
    if size == 0:
        raise ImageError(f"{name}: empty file")
    if size > MAX_FILE_BYTES:
        raise ImageError(
            f"{name}: file is {size / 2**20:.1f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit"
        )


def probe_header(name: str, data: bytes) -> int:
    """Check format and size from the header alone (no decoding); return the EXIF orientation."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own bomb warning and TIFF tag warnings
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                orientation = exif_orientation(image)
    except UnidentifiedImageError as error:
        raise ImageError(f"{name}: not an image (unrecognised file format)") from error
    except Image.DecompressionBombError as error:
        raise ImageError(f"{name}: refused without decoding: {error}") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{name}: corrupt image header ({error})") from error
    check_header(name, kind, width, height)
    return orientation


def check_header(name: str, kind: str | None, width: int, height: int) -> None:
    """Refuse unsupported formats, decompression bombs and images too small to hold a digit."""
    if kind not in FORMATS:
        supported = ", ".join(sorted(set(FORMATS.values())))
        raise ImageError(f"{name}: unsupported image format {kind} (supported: {supported})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: image is {width}x{height} ({width * height / 1e6:.1f} megapixels), over the "
            f"{MAX_PIXELS // 1_000_000} megapixel limit; refused without decoding"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{name}: image is {width}x{height}, too small to hold a digit "
            f"(minimum {MIN_SIDE}x{MIN_SIDE})"
        )


def exif_orientation(image) -> int:
    """The EXIF orientation tag (1 = upright); 1 when absent or unreadable."""
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip decoded pixels upright, as a camera's EXIF orientation asks."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: np.rot90(a, 2),
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    turn = transforms.get(orientation)
    return pixels if turn is None else np.ascontiguousarray(turn(pixels))


def to_gray(pixels: np.ndarray) -> np.ndarray:
    """Decoded pixels of any depth and channel count as uint8 gray, alpha composited on white."""
    values = to_unit_range(pixels)  # (H, W) or (H, W, C) float32 in 0..1
    if values.ndim == 2:
        return to_uint8(values)
    channels = values.shape[2]
    if channels in (2, 4):  # gray+alpha or BGRA: transparent means paper
        colour, alpha = values[..., :-1], values[..., -1:]
        values = colour * alpha + (1.0 - alpha)
    if values.shape[2] >= 3:
        values = cv2.cvtColor(np.ascontiguousarray(values[..., :3]), cv2.COLOR_BGR2GRAY)
    return to_uint8(np.squeeze(values))  # (H, W)


def to_unit_range(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16/float pixels as float32 in 0..1."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / PIXEL_MAX
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    values = pixels.astype(np.float32)
    peak = float(np.nanmax(values)) if values.size else 0.0
    values = values / PIXEL_MAX if peak > 1.0 else values  # float TIFFs come as 0..1 or 0..255
    return np.clip(np.nan_to_num(values), 0.0, 1.0)


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * PIXEL_MAX), 0, PIXEL_MAX).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ImageError(f"could not encode a {image.shape} image as PNG")
    return buffer.tobytes()
