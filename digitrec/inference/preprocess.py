"""Turn a photo or scan of one digit into an MNIST-style 28x28 input with OpenCV.

MNIST digits are white ink on black, the ink's bounding box scaled (keeping its aspect ratio) so
the longer side is 20 px, then placed in a 28x28 field with the centre of mass at pixel (14, 14).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX
from digitrec.inference import levels
from digitrec.inference.files import MIN_SIDE, ImageError, encode_png
from digitrec.storage import write_bytes_atomic

DIGIT_BOX = 20  # MNIST scales the ink's longer side to 20 px ...
CENTRE = 14.0  # ... and puts its centre of mass here (measured on MNIST: 13.99, 14.00)
BORDER_INK = 0.10  # a share of the image's edge in "ink" above this is uneven light instead
UNEVEN_LIGHT = 24  # grey levels of spread in the paper's light that flatten_light corrects
MIN_CONTRAST = 32  # ink must differ from the paper by this many grey levels
SPECK_FRACTION = 0.03  # ink components smaller than this share of the largest are specks
MIN_STROKE_RATIO = 0.045  # strokes thinner than this share of the box (a pen on paper) ...
TARGET_STROKE_RATIO = 0.10  # ... are thickened to about MNIST's median stroke width
MAX_STROKE_RATIO = 0.17  # a marker's strokes, wider than 97% of MNIST's (photographed) ...
THICK_TARGET_RATIO = 0.12  # ... are eroded to about MNIST's upper quartile


def to_mnist(gray: np.ndarray, save_to: Path | str | None = None) -> np.ndarray:
    """One digit from a grayscale image as an MNIST-style uint8 (28, 28): white ink on black."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    digit = centre_digit(ink * mask_near(mask, gray.shape))  # (28, 28)
    if save_to is not None:
        write_bytes_atomic(save_to, encode_png(digit))
    return digit


def ink_layer(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bright ink on a zero background (grey stroke edges kept) and the mask of ink found."""
    gray = check_gray(gray)
    bright = PIXEL_MAX - gray if is_dark_on_light(gray) else gray  # (H, W) ink now bright
    try:
        ink, mask = threshold_ink(bright)
        if not on_border(mask):
            return ink, mask
    except ImageError:
        ink = None  # perhaps a shadow hides the ink: retry on evenly lit paper
    flat = flatten_light(bright)
    if flat is bright and ink is not None:
        return ink, mask
    return threshold_ink(flat)


def on_border(mask: np.ndarray) -> bool:
    """Ink covers much of the image's edge: a shadow or a light gradient, not a digit."""
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    return float(edge.mean()) > BORDER_INK


def threshold_ink(bright: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink (bright) from paper by Otsu's threshold, then stretched so the ink peaks at 255."""
    background, noise = background_level(bright)
    bright = denoise(bright, noise)
    threshold, mask = cv2.threshold(bright, 0, PIXEL_MAX, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = drop_specks(mask > 0)  # (H, W) bool
    ink_level = levels.percentile(bright[mask], 90) if mask.any() else float(background)
    if ink_level - background < max(MIN_CONTRAST, 6.0 * noise) or not mask.any():
        raise ImageError("blank: no ink found")
    low = min(background + max(3.0 * noise, 0.04 * (ink_level - background)), threshold)
    scaled = (bright.astype(np.float32) - low) * (PIXEL_MAX / max(ink_level - low, 1.0))
    return np.clip(scaled, 0, PIXEL_MAX).astype(np.uint8), mask


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
    """Dark ink on light paper: the border (mostly paper) is brighter than mid-range. A border
    that a shadow or a light patch splits across mid-range decides nothing; then the image's
    median (paper, which covers most of it) does."""
    band = max(1, min(gray.shape) // 20)
    border = np.concatenate(
        [gray[:band].ravel(), gray[-band:].ravel(), gray[:, :band].ravel(), gray[:, -band:].ravel()]
    )
    low, high = levels.percentile(gray, [1, 99])
    middle = (low + high) / 2
    lower_quartile, upper_quartile = levels.percentile(border, [25, 75])
    if lower_quartile > middle or upper_quartile < middle:
        return lower_quartile > middle
    return levels.median(gray) > middle


def flatten_light(bright: np.ndarray) -> np.ndarray:
    """Subtract the paper's slowly varying light (a shadow, vignetting) so one threshold fits
    the whole page. The light is the image opened with a kernel a quarter of its side, wider
    than a stroke; evenly lit images (spread under UNEVEN_LIGHT) come back unchanged."""
    height, width = bright.shape
    if min(height, width) < 64:
        return bright
    factor = max(1, min(height, width) // 128)  # the light varies slowly: estimate it small
    small = cv2.resize(bright, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    side = max(5, min(small.shape) // 4) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    light = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel), (0, 0), side / 4)
    low, high = levels.percentile(light, [2, 98])
    if high - low < UNEVEN_LIGHT:
        return bright
    return cv2.subtract(bright, cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR))


def background_level(bright: np.ndarray) -> tuple[float, float]:
    """The paper's level (median) and its noise (robust sigma from the median deviation)."""
    background = levels.median(bright)
    noise = 1.4826 * levels.median_deviation(bright, background)
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
    small = scale_to_box(match_strokes(box))  # (<=20, <=20)
    return place_by_mass(small)  # (28, 28)


def scale_to_box(box: np.ndarray, side: int = DIGIT_BOX) -> np.ndarray:
    """Scale so the longer side is `side` px, keeping the aspect ratio; peak ink at 255."""
    height, width = box.shape
    scale = side / max(height, width)
    return resized(box, (max(1, round(width * scale)), max(1, round(height * scale))))


def resized(box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`box` resized by area to `size` (width, height, as OpenCV takes it), its peak ink
    stretched back to 255: area averaging thins faint strokes that MNIST's digits never have."""
    small = cv2.resize(box, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    peak = float(small.max())
    if not peak:
        return small.astype(np.uint8)
    return np.clip(np.rint(small * (PIXEL_MAX / peak)), 0, PIXEL_MAX).astype(np.uint8)


def match_strokes(box: np.ndarray, side: int | None = None) -> np.ndarray:
    """Bring a pen's strokes toward MNIST's relative width so they survive scaling and look
    like the training digits: dilate a fine pen's, erode a marker's. Widths are relative to
    `side`: the box's longer side for a digit, its height for a line of digits."""
    side = max(box.shape) if side is None else side
    if side < 2 * DIGIT_BOX:
        return box
    width = stroke_width(box)
    if width < MIN_STROKE_RATIO * side:
        grow = int(round(TARGET_STROKE_RATIO * side - width)) // 2  # per side of the stroke
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        padded = cv2.copyMakeBorder(box, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
        return cv2.dilate(padded, kernel)  # (h + 2g, w + 2g)
    if width > MAX_STROKE_RATIO * side:
        shrink = int(round(width - THICK_TARGET_RATIO * side)) // 2
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * shrink + 1, 2 * shrink + 1))
        return cv2.erode(box, kernel)
    return box


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
