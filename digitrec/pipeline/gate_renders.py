"""The "not a digit" gate's training images, rendered: MNIST digits as they are, redrawn,
photographed and scanned coarsely, and as many non-digits made the same ways. Rendering is
OpenCV work of a minute, so every part is cached under DIGITREC_HOME/cache/gate/, keyed by its
content and by this rendering code."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from digitrec.constants import IMAGE_SHAPE
from digitrec.data import nondigits as nondigits_module
from digitrec.data import pens
from digitrec.data import photos as photos_module
from digitrec.data.nondigits import draw_nondigits, redraw
from digitrec.data.photos import photo_like
from digitrec.inference import preprocess as preprocess_module
from digitrec.inference.files import ImageError
from digitrec.inference.preprocess import to_mnist
from digitrec.storage import cache_dir, write_with

REDRAWN = 0.25  # share of each class drawn on the non-digits' canvas
PHOTOGRAPHED = 0.25  # share of each class rendered as phone photos and read back
# Share of each class scanned coarsely (`digitrec.data.pens`): without it the gate refused 3-4%
# of other writers' low-resolution digits that the model read right; the non-digits get the
# same share, so that blur alone does not say "digit". A marker's share was measured and
# left out: it cost 1-4 points of non-digits refused (bench/RESULTS.md).
COARSE = 0.125


@contextmanager
def one_opencv_thread() -> Iterator[None]:
    """OpenCV on one thread meanwhile: on these small images its worker threads took 20% more
    CPU for the same wall time (bench/RESULTS.md), CPU the training beside it needs."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def mnist_style(
    canvases: np.ndarray | list[np.ndarray], fallback: np.ndarray | None = None
) -> np.ndarray:
    """Canvases (N, H, W), or of any sizes, through `to_mnist` (N, 28, 28); a canvas whose ink
    vanished keeps its `fallback` image, else is dropped."""
    out = []
    for i, canvas in enumerate(canvases):
        try:
            out.append(to_mnist(canvas))
        except ImageError:
            if fallback is not None:
                out.append(fallback[i])
    return np.stack(out) if out else np.zeros((0, *IMAGE_SHAPE[:2]), np.uint8)


def photographed(images: np.ndarray, seed: int) -> np.ndarray:
    """Each 28x28 as a phone photo read back by `to_mnist`; photos that lost their ink drop out."""
    rng = np.random.default_rng(seed)
    out = []
    for image in images:
        try:
            out.append(to_mnist(photo_like(image, rng)))
        except ImageError:
            continue
    return np.stack(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)


def gate_digits(digits: np.ndarray, seed: int) -> np.ndarray:
    """Training digits as they are, redrawn on the canvas, photographed and scanned coarsely
    (REDRAWN, PHOTOGRAPHED and COARSE shares), so the gate meets digits made every way
    non-digits are, and at other resolutions than MNIST's."""
    n = len(digits)
    counts = [int(n * share) for share in (REDRAWN, PHOTOGRAPHED, COARSE)]
    keep, again, shot, coarse = np.split(digits, np.cumsum([n - sum(counts), *counts[:-1]]))
    return np.concatenate([
        keep,
        mnist_style(redraw(again, seed), fallback=again),
        photographed(shot, seed),
        penned(coarse, pens.coarse_scan, seed),
    ])  # fmt: skip


def penned(images: np.ndarray, pen: Callable, seed: int) -> np.ndarray:
    """Each 28x28 drawn by `pen` and read back by `to_mnist`; those that lost their ink drop out."""
    rng = np.random.default_rng(seed)
    return mnist_style([pen(image, rng) for image in images])


def training_nondigits(count: int, seed: int) -> np.ndarray:
    """The gate's non-digits, drawn, and partly photographed and scanned coarsely as the digits
    are; they depend only on the seed and the rendering code, so they are cached."""

    def draw() -> np.ndarray:
        photos, coarse = int(count * PHOTOGRAPHED), int(count * COARSE)
        drawn = make_nondigits(count - photos - coarse, seed)
        shot = photographed(make_nondigits(photos, seed + 1), seed)
        scanned = penned(make_nondigits(coarse, seed + 2), pens.coarse_scan, seed)
        return np.concatenate([drawn, shot, scanned])

    return cached(f"nondigits-{seed}-{count}", draw)


RENDERING_CODE = (nondigits_module, photos_module, pens, preprocess_module, sys.modules[__name__])


def rendering_version() -> str:
    """A hash of the code that draws, photographs and reads back the gate's inputs: a cached
    render is only reused while that code is unchanged."""
    digest = hashlib.sha256()
    for module in RENDERING_CODE:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def cached(name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
    """Images under DIGITREC_HOME/cache/gate/, keyed by `name` and the rendering code."""
    path = cache_dir() / "gate" / f"{name}-r{rendering_version()}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["images"]
    images = make()
    write_with(path, lambda tmp: np.savez(tmp, images=images))
    prune(path.parent, name.split("-")[0])
    return images


CACHED_PER_KIND = 4  # renders kept per kind: each distinct training set makes a new one


def prune(folder: Path, kind: str) -> None:
    """Delete all but the CACHED_PER_KIND newest renders of a kind (digits, nondigits, held)."""
    renders = sorted(folder.glob(f"{kind}-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in renders[CACHED_PER_KIND:]:
        old.unlink(missing_ok=True)


def make_nondigits(count: int, seed: int) -> np.ndarray:
    """`count` MNIST-style non-digits (count, 28, 28), as an input photo of one would look."""
    made = np.zeros((0, *IMAGE_SHAPE[:2]), np.uint8)
    while len(made) < count:  # a few drawings can leave the canvas: draw more
        made = np.concatenate([made, mnist_style(draw_nondigits(count - len(made), seed))])
        seed += 7919
    return made
