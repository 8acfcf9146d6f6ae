"""Populations of digits that are not MNIST's, for bench/loop_learning.py: each a list of
(gray image as a scan or photo would give it, label), shuffled with a fixed seed. None is in
the repo as files; each is drawn here from what the installed packages ship.

- uci-scan: scikit-learn's UCI digits (43 writers) as digitrec.data.styles renders them;
- uci-photo: the same writers in another rendering: smooth upscale, dark ink on uneven paper;
- fonts: printed digits in matplotlib's TrueType fonts, jittered (size, slant, position);
- strokes: OpenCV's Hershey stroke fonts (two script-like) as thick marker strokes on a canvas;
- thick-photo: MNIST training-split digits (never the hidden test) drawn with a thick marker
  on paper: a new style of the same writers.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from digitrec.data.photos import on_paper
from digitrec.data.styles import FONT_DIR, FONTS, HERSHEY, other_writers, thick_pen

Population = list[tuple[np.ndarray, int]]


def uci_scan(seed: int) -> Population:
    return list(other_writers())


def uci_photo(seed: int) -> Population:
    """UCI's 8x8 digits upscaled smoothly to 96 px, dark ink on lit paper, through JPEG."""
    from sklearn.datasets import load_digits

    rng, out = np.random.default_rng(seed), []
    data = load_digits()
    for image, label in zip(data.images, data.target, strict=True):
        ink = np.clip(image * (255 / 16), 0, 255).astype(np.float32)  # (8, 8)
        big = cv2.resize(ink, (72, 72), interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(np.clip(big, 0, 255), 24, 24, 24, 24, cv2.BORDER_CONSTANT)
        out.append((on_paper(cv2.GaussianBlur(big, (0, 0), rng.uniform(1, 3)), rng), int(label)))
    return out


def fonts(seed: int, copies: int = 8) -> Population:
    """Each digit in each TrueType font `copies` times: size, rotation and offset jittered."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    rng, out = np.random.default_rng(seed), []
    folder = f"{matplotlib.__path__[0]}/{FONT_DIR}"
    for name in FONTS:
        for _ in range(copies):
            font = ImageFont.truetype(f"{folder}/{name}", int(rng.integers(60, 120)))
            for digit in range(10):
                canvas = Image.new("L", (160, 160), 0)
                xy = tuple(int(v) for v in 80 + rng.integers(-12, 13, 2))
                ImageDraw.Draw(canvas).text(xy, str(digit), fill=255, font=font, anchor="mm")
                turned = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
                out.append((on_paper(np.asarray(turned, np.float64), rng), digit))
    return out


def strokes(seed: int, copies: int = 20) -> Population:
    """Hershey stroke digits as a thick marker on a canvas (white ink on black, as drawn)."""
    rng, out = np.random.default_rng(seed), []
    for face in HERSHEY:
        for _ in range(copies):
            italic = cv2.FONT_ITALIC if rng.random() < 0.5 else 0
            thickness, scale = int(rng.integers(6, 14)), float(rng.uniform(2.5, 3.5))
            for digit in range(10):
                canvas = np.zeros((160, 160), np.uint8)
                origin = (int(rng.integers(30, 50)), int(rng.integers(110, 130)))
                cv2.putText(canvas, str(digit), origin, face | italic, scale, 255, thickness)
                out.append((canvas, digit))
    return out


def thick_photo(seed: int, count: int = 1500) -> Population:
    """MNIST training-split rows (train.csv, never the hidden test) in thick marker on paper."""
    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv

    train = load_csv(ensure_embedded_data().train_csv)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(train.labels), count, replace=False)
    return [(thick_pen(train.images[i], rng), int(train.labels[i])) for i in rows]


POPULATIONS: dict[str, Callable[[int], Population]] = {
    "uci-scan": uci_scan,
    "uci-photo": uci_photo,
    "fonts": fonts,
    "strokes": strokes,
    "thick-photo": thick_photo,
}


def population(name: str, seed: int = 0) -> Population:
    """The named population, shuffled (the same order for the same seed)."""
    items = POPULATIONS[name](seed)
    order = np.random.default_rng(seed + 17).permutation(len(items))
    return [items[i] for i in order]
