"""Read digit images safely and turn them into MNIST-style 28x28 inputs with OpenCV.

MNIST digits are white ink on black, the ink's bounding box scaled (keeping its aspect ratio) so
the longer side is 20 px, then placed in a 28x28 field with the centre of mass at pixel (14, 14).
`to_mnist` rebuilds that from a photo or scan; `split_digits` cuts a written number into digits.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np

from digitrec.constants import IMAGE_SIZE
from digitrec.storage import write_bytes_atomic

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

DIGIT_BOX = 20  # MNIST scales the ink's longer side to 20 px ...
CENTRE = 14.0  # ... and puts its centre of mass here (measured on MNIST: 13.99, 14.00)
MIN_CONTRAST = 32  # ink must differ from the paper by this many grey levels
SPECK_FRACTION = 0.03  # ink components smaller than this share of the largest are specks
MERGE_OVERLAP = 0.5  # components overlapping horizontally by this share of the narrower merge
MIN_HEIGHT_SHARE = 0.5  # a separate digit is at least this share of the tallest one's height
MIN_GAP_SHARE = 0.05  # a gap narrower than this share of the tallest (about half a stroke) is a
# skip of the pen inside one digit, not the space between two digits
MIN_STROKE_RATIO = 0.045  # strokes thinner than this share of the box (a pen on paper) ...
TARGET_STROKE_RATIO = 0.10  # ... are thickened to about MNIST's median stroke width


class ImageError(ValueError):
    """An image is unusable; the message names the file and the reason."""


def read_image(path: Path | str) -> np.ndarray:
    """Read an image file as grayscale uint8 (H, W), refusing bombs and broken files."""
    path = Path(path)
    data = read_guarded_bytes(path)
    orientation = probe_header(path, data)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ImageError(f"{path}: could not decode the image data (truncated or corrupt file)")
    return to_gray(apply_orientation(decoded, orientation))  # (H, W)


def read_guarded_bytes(path: Path) -> bytes:
    """The file's bytes, after checking it exists, is not empty and is under the size limit."""
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise ImageError(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise ImageError(
            f"{path}: file is {size / 2**20:.1f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit"
        )
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read the file ({error.strerror or error})") from error


def probe_header(path: Path, data: bytes) -> int:
    """Check format and size from the header alone (no decoding); return the EXIF orientation."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own bomb warning and TIFF tag warnings
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                orientation = exif_orientation(image)
    except UnidentifiedImageError as error:
        raise ImageError(f"{path}: not an image (unrecognised file format)") from error
    except Image.DecompressionBombError as error:
        raise ImageError(f"{path}: refused without decoding: {error}") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{path}: corrupt image header ({error})") from error
    check_header(path, kind, width, height)
    return orientation


def check_header(path: Path, kind: str | None, width: int, height: int) -> None:
    """Refuse unsupported formats, decompression bombs and images too small to hold a digit."""
    if kind not in FORMATS:
        supported = ", ".join(sorted(set(FORMATS.values())))
        raise ImageError(f"{path}: unsupported image format {kind} (supported: {supported})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{path}: image is {width}x{height} ({width * height / 1e6:.1f} megapixels), over the "
            f"{MAX_PIXELS // 1_000_000} megapixel limit; refused without decoding"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{path}: image is {width}x{height}, too small to hold a digit "
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
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    values = pixels.astype(np.float32)
    peak = float(np.nanmax(values)) if values.size else 0.0
    values = values / 255.0 if peak > 1.0 else values  # float TIFFs come as 0..1 or 0..255
    return np.clip(np.nan_to_num(values), 0.0, 1.0)


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def to_mnist(gray: np.ndarray, save_to: Path | str | None = None) -> np.ndarray:
    """One digit from a grayscale image as an MNIST-style uint8 (28, 28): white ink on black."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    digit = centre_digit(ink * mask_near(mask, gray.shape))  # (28, 28)
    if save_to is not None:
        write_bytes_atomic(save_to, encode_png(digit))
    return digit


def split_digits(gray: np.ndarray) -> list[np.ndarray]:
    """Cut a written number into digits, left to right: white-on-black crops for `to_mnist`."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    return [crop_piece(ink, group, gray.shape) for group in digit_groups(mask)]


def ink_layer(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bright ink on a zero background (grey stroke edges kept) and the mask of ink found."""
    gray = check_gray(gray)
    bright = 255 - gray if is_dark_on_light(gray) else gray  # (H, W) ink now bright
    background, noise = background_level(bright)
    bright = denoise(bright, noise)
    threshold, mask = cv2.threshold(bright, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = drop_specks(mask > 0)  # (H, W) bool
    ink_level = float(np.percentile(bright[mask], 90)) if mask.any() else float(background)
    if ink_level - background < max(MIN_CONTRAST, 6.0 * noise) or not mask.any():
        raise ImageError("blank: no ink found")
    low = min(background + max(3.0 * noise, 0.04 * (ink_level - background)), threshold)
    scaled = (bright.astype(np.float32) - low) * (255.0 / max(ink_level - low, 1.0))
    return np.clip(scaled, 0, 255).astype(np.uint8), mask


def check_gray(gray: np.ndarray) -> np.ndarray:
    """Accept a 2-D uint8 image (or (H, W, 1)); refuse anything else with a clear message."""
    gray = np.asarray(gray)
    if gray.ndim == 3 and gray.shape[2] == 1:
        gray = gray[..., 0]
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ImageError(f"expected a grayscale uint8 (H, W) image, got {gray.dtype} {gray.shape}")
    if min(gray.shape) < MIN_SIDE:
        raise ImageError(f"image is {gray.shape[1]}x{gray.shape[0]}, too small to hold a digit")
    return gray


def is_dark_on_light(gray: np.ndarray) -> bool:
    """Dark ink on light paper: the border (mostly paper) is brighter than mid-range."""
    band = max(1, min(gray.shape) // 20)
    border = np.concatenate(
        [gray[:band].ravel(), gray[-band:].ravel(), gray[:, :band].ravel(), gray[:, -band:].ravel()]
    )
    low, high = np.percentile(gray, [1, 99])
    return float(np.median(border)) > (low + high) / 2


def background_level(bright: np.ndarray) -> tuple[float, float]:
    """The paper's level (median) and its noise (robust sigma from the median deviation)."""
    background = float(np.median(bright))
    noise = 1.4826 * float(np.median(np.abs(bright.astype(np.float32) - background)))
    return background, noise


def denoise(bright: np.ndarray, noise: float) -> np.ndarray:
    """Median then Gaussian blur for photo-sized noisy images; small or clean ones pass through."""
    short = min(bright.shape)
    if short < 64 or noise == 0:
        return bright
    smooth = cv2.medianBlur(bright, 3)
    sigma = short / 400
    return cv2.GaussianBlur(smooth, (0, 0), sigma) if sigma >= 0.5 else smooth


def drop_specks(mask: np.ndarray) -> np.ndarray:
    """Remove ink components much smaller than the largest one (dust, noise)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    areas = stats[1:, cv2.CC_STAT_AREA]  # (count - 1,)
    if areas.size == 0:
        return mask
    keep = np.flatnonzero(areas >= max(2, SPECK_FRACTION * areas.max())) + 1
    return np.isin(labels, keep)  # (H, W) bool


def mask_near(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The ink mask widened by the width of an anti-aliased edge, as 0/1 uint8."""
    radius = 1 + int(np.ceil(min(shape) / 200))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel)  # (H, W) 0/1


def centre_digit(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, scale the longer side to 20 px, centre by mass in 28x28."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ImageError("blank: no ink found")
    box = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # (h, w)
    small = scale_to_box(thicken_strokes(box))  # (<=20, <=20)
    return place_by_mass(small)  # (28, 28)


def scale_to_box(box: np.ndarray, side: int = DIGIT_BOX) -> np.ndarray:
    """Scale so the longer side is `side` px, keeping the aspect ratio; peak ink at 255."""
    height, width = box.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # (w, h) for OpenCV
    small = cv2.resize(box, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    peak = float(small.max())
    return np.clip(np.rint(small * (255.0 / peak)), 0, 255).astype(np.uint8) if peak else small


def thicken_strokes(box: np.ndarray) -> np.ndarray:
    """Dilate pen-thin strokes to MNIST's relative stroke width so they survive scaling."""
    side = max(box.shape)
    width = stroke_width(box)
    if width >= MIN_STROKE_RATIO * side or side < 2 * DIGIT_BOX:
        return box
    grow = int(round(TARGET_STROKE_RATIO * side - width)) // 2  # per side of the stroke
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    padded = cv2.copyMakeBorder(box, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
    return cv2.dilate(padded, kernel)  # (h + 2g, w + 2g)


def stroke_width(box: np.ndarray) -> float:
    """Mean stroke width in px, as twice the ink area over the ink outline's length."""
    solid = (box >= 128).astype(np.uint8)
    contours, _ = cv2.findContours(solid, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(contour, True) for contour in contours)
    return 2.0 * float(solid.sum()) / outline if outline else 0.0


def place_by_mass(small: np.ndarray) -> np.ndarray:
    """Translate the scaled digit into 28x28 so its centre of mass lands on (14, 14)."""
    height, width = small.shape
    moments = cv2.moments(small.astype(np.float32))
    mass_x, mass_y = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    # Whole-pixel shifts (no resampling blur), clamped so no ink leaves the field.
    shift_x = min(max(round(CENTRE - mass_x), 0), IMAGE_SIZE - width)
    shift_y = min(max(round(CENTRE - mass_y), 0), IMAGE_SIZE - height)
    matrix = np.float32([[1, 0, shift_x], [0, 1, shift_y]])
    return cv2.warpAffine(small, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_NEAREST)


def digit_groups(mask: np.ndarray) -> list[np.ndarray]:
    """Ink components grouped into digits, left to right, as (H, W) bool masks."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    groups = sorted((component_box(stats[i], [i]) for i in range(1, count)), key=lambda b: b[0])
    while True:
        merged = merge_short(merge_overlapping(groups))
        if len(merged) == len(groups):
            break
        groups = merged
    return [np.isin(labels, members) for *_, members in groups]


def component_box(stat: np.ndarray, members: list[int]) -> tuple[int, int, int, int, list[int]]:
    """(x0, y0, x1, y1, member labels) with exclusive ends."""
    x, y, width, height = (int(v) for v in stat[:4])
    return x, y, x + width, y + height, members


def join(a: tuple, b: tuple) -> tuple[int, int, int, int, list[int]]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]), a[4] + b[4]


def merge_overlapping(boxes: list[tuple]) -> list[tuple]:
    """Merge components that overlap or nearly touch horizontally (a 5's hat, a two-stroke 4)."""
    tallest = max((box[3] - box[1] for box in boxes), default=0)
    merged: list[tuple] = []
    for box in sorted(boxes, key=lambda b: b[0]):
        if merged:
            last = merged[-1]
            overlap = min(last[2], box[2]) - max(last[0], box[0])  # negative: the gap
            narrower = min(last[2] - last[0], box[2] - box[0])
            if overlap >= MERGE_OVERLAP * narrower or -overlap < MIN_GAP_SHARE * tallest:
                merged[-1] = join(last, box)
                continue
        merged.append(box)
    return merged


def merge_short(groups: list[tuple]) -> list[tuple]:
    """Fold groups much shorter than the tallest into their nearest neighbour (fragments)."""
    groups = list(groups)
    while len(groups) > 1:
        tallest = max(g[3] - g[1] for g in groups)
        short = [i for i, g in enumerate(groups) if g[3] - g[1] < MIN_HEIGHT_SHARE * tallest]
        if not short:
            break
        i = short[0]
        j = nearest_neighbour(groups, i)
        keep, drop = min(i, j), max(i, j)
        groups[keep] = join(groups[keep], groups[drop])
        del groups[drop]
    return groups


def nearest_neighbour(groups: list[tuple], i: int) -> int:
    """Index of the group left or right of group i with the smaller horizontal gap."""
    left = groups[i][0] - groups[i - 1][2] if i > 0 else None
    right = groups[i + 1][0] - groups[i][2] if i + 1 < len(groups) else None
    if right is None or (left is not None and left <= right):
        return i - 1
    return i + 1


def crop_piece(ink: np.ndarray, group: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """One digit's ink alone on black, cropped to it with a margin of a tenth of its height."""
    piece = ink * mask_near(group, shape)  # (H, W)
    rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
    margin = max(MIN_SIDE, (rows[-1] - rows[0] + 1) // 10)
    top, left = max(rows[0] - margin, 0), max(cols[0] - margin, 0)
    crop = piece[top : rows[-1] + 1 + margin, left : cols[-1] + 1 + margin]  # (h, w)
    return cv2.copyMakeBorder(crop, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)


def encode_png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ImageError(f"could not encode a {image.shape} image as PNG")
    return buffer.tobytes()
