"""Held-out digits in styles MNIST does not have: phone photos with perspective, blur, uneven
light and JPEG; thick and thin pens; squared paper; bilevel scans; typed digits in other fonts;
and another set of writers (scikit-learn's UCI digits). Each is an image as the app receives it
(grayscale, any size), so the app's own preprocessing is part of what gets measured.
bench/bench_generalisation.py scores each profile's model on every set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from digitrec.data import nondigits
from digitrec.data.photos import on_paper, photo_like

Style = Callable[[np.ndarray, np.random.Generator], np.ndarray]  # MNIST digit -> gray image


def enlarged(digit: np.ndarray, scale: int, pad: int) -> np.ndarray:
    """A white-on-black digit `scale` times bigger, with `pad` px of black around it."""
    big = cv2.resize(digit, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)


def tilted_photo(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tilted (perspective), blurred, unevenly lit phone photo through JPEG."""
    scale = int(rng.integers(3, 8))
    canvas = enlarged(digit, scale, int(rng.integers(10, 60))).astype(np.float32)
    height, width = canvas.shape
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.uniform(-0.22, 0.22, (4, 2)) * [width, height]
    warp = cv2.getPerspectiveTransform(corners, np.float32(corners + jitter))
    canvas = cv2.warpPerspective(canvas, warp, (width, height))
    canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 0.25 * scale))
    photo = on_paper(np.clip(canvas, 0, 255), rng).astype(np.float32)
    light = np.linspace(rng.uniform(-40, 0), rng.uniform(0, 40), width)[None, :]  # (1, W)
    return np.clip(photo + light, 0, 255).astype(np.uint8)


def shadowed_photo(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim photo with a soft shadow across part of the page: low contrast, uneven paper."""
    scale = int(rng.integers(4, 8))
    ink = enlarged(digit, scale, int(rng.integers(20, 80))).astype(np.float32)
    height, width = ink.shape
    paper, pen = rng.uniform(120, 170), rng.uniform(40, 80)
    image = paper - (paper - pen) * ink / 255.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    edge = (xx - width / 2) * np.cos(angle) + (yy - height / 2) * np.sin(angle)
    shadow = 1.0 - rng.uniform(0.25, 0.45) / (1.0 + np.exp(-edge / (0.08 * width)))
    vignette = 1.0 - 0.35 * (((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2)
    image = image * shadow * vignette + rng.normal(0, 5, image.shape)
    ok, buffer = cv2.imencode(
        ".jpg", np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 40]
    )
    return cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)


def pen(digit: np.ndarray, scale: int, change: int) -> np.ndarray:
    """The digit enlarged, its strokes grown (`change` > 0) or shrunk (< 0) by `change` px a
    side, as a different pen would draw them; a stroke never shrinks to nothing."""
    big = enlarged(digit, scale, 4 * scale)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(change) + 1,) * 2)
    if change > 0:
        return cv2.dilate(big, kernel)
    thin = cv2.erode(big, kernel)
    return thin if (thin >= 128).sum() >= 0.25 * (big >= 128).sum() else big


def thick_pen(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A marker: strokes about twice MNIST's relative width, as a photo."""
    scale = int(rng.integers(4, 7))
    return on_paper(pen(digit, scale, int(rng.integers(scale, 2 * scale))), rng)


def thin_pen(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fine pen: strokes about a third of MNIST's relative width, as a photo."""
    scale = int(rng.integers(5, 8))
    return on_paper(pen(digit, scale, -int(rng.integers(scale // 2 + 1, scale + 1))), rng)


def squared_paper(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo of the digit on squared paper: faint grid lines under the ink."""
    photo = photo_like(digit, rng).astype(np.float32)
    step = int(rng.integers(18, 40))
    offset_y, offset_x = (int(v) for v in rng.integers(0, step, 2))
    darker = rng.uniform(25, 55)
    grid = np.zeros(photo.shape, np.float32)
    grid[offset_y::step, :] = darker
    grid[:, offset_x::step] = darker
    grid = cv2.GaussianBlur(grid, (0, 0), 0.7)
    return np.clip(np.minimum(photo, 255 - grid), 0, 255).astype(np.uint8)


def bilevel_scan(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1-bit office scan: black on pure white, jagged edges, slightly rotated, a few specks."""
    scale = int(rng.integers(3, 7))
    big = enlarged(digit, scale, int(rng.integers(10, 50)))
    height, width = big.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-6, 6), 1.0)
    big = cv2.warpAffine(big, turn, (width, height))
    image = np.where(big >= rng.uniform(90, 160), 0, 255).astype(np.uint8)
    specks = rng.random(image.shape) < 0.0004
    image[specks] = 0
    return image


STYLES: dict[str, Style] = {
    "photo": photo_like,
    "tilted-photo": tilted_photo,
    "shadowed-photo": shadowed_photo,
    "thick-pen": thick_pen,
    "thin-pen": thin_pen,
    "squared-paper": squared_paper,
    "bilevel-scan": bilevel_scan,
}


def styled(
    style: str, digits: np.ndarray, labels: np.ndarray, seed: int
) -> Iterator[tuple[np.ndarray, int]]:
    """(image, label) for each MNIST digit (N, 28, 28) drawn in the named style."""
    render, rng = STYLES[style], np.random.default_rng(seed)
    for digit, label in zip(digits, labels, strict=True):
        yield render(digit, rng), int(label)


FONT_DIR = "mpl-data/fonts/ttf"
FONTS = (  # matplotlib's bundled fonts: sans, serif, mono, TeX-like, in several weights
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralItalic.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
)
HERSHEY = nondigits.FONTS[:6]  # OpenCV's stroke fonts (two script-like), less its thin PLAIN


def typed_digits(seed: int = 0) -> Iterator[tuple[np.ndarray, int]]:
    """Every digit in each bundled TrueType font and OpenCV stroke font (upright and italic,
    two stroke weights), each as a photo: printed digits no MNIST writer drew."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    for name in FONTS:
        font = ImageFont.truetype(str(Path(matplotlib.__file__).parent / FONT_DIR / name), 96)
        for digit in range(10):
            canvas = Image.new("L", (160, 160), 0)
            ImageDraw.Draw(canvas).text((80, 80), str(digit), fill=255, font=font, anchor="mm")
            yield on_paper(np.asarray(canvas, np.float64), rng), digit
    for face in HERSHEY:
        for italic in (0, cv2.FONT_ITALIC):
            for thickness in (3, 7):
                for digit in range(10):
                    canvas = np.zeros((160, 160), np.uint8)
                    cv2.putText(canvas, str(digit), (40, 120), face | italic, 3.0, 255, thickness)
                    yield on_paper(canvas.astype(np.float64), rng), digit


def other_writers() -> Iterator[tuple[np.ndarray, int]]:
    """scikit-learn's UCI handwritten digits (1,797 from 43 writers, not MNIST's), 8x8 at 17
    levels, enlarged to 32x32 white ink on black as a low-resolution scan of them."""
    from sklearn.datasets import load_digits

    data = load_digits()
    for image, label in zip(data.images, data.target, strict=True):
        ink = np.clip(image * (255 / 16), 0, 255).astype(np.uint8)  # (8, 8)
        big = cv2.resize(ink, (32, 32), interpolation=cv2.INTER_LINEAR)
        yield cv2.copyMakeBorder(big, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=0), int(label)
