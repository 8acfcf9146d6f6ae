"""Image reading guards and MNIST-style preprocessing, on synthetic and real MNIST images."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.data.photos import on_paper, photo_like  # noqa: F401 - shared test helpers
from digitrec.inference.files import (
    MAX_FILE_BYTES,
    ImageError,
    read_image,
)
from digitrec.inference.preprocess import stroke_width, to_mnist
from digitrec.inference.segment import read_digits, split_digits

# ---- helpers (also used by tests/inference/test_prediction.py) --------------------------


def number_image(digits: np.ndarray, rng: np.random.Generator, scale: int = 5) -> np.ndarray:
    """MNIST digits (N, 28, 28) cropped to their ink and written side by side on paper."""
    crops = [ink_crop(digit) for digit in digits]
    height = max(crop.shape[0] for crop in crops) + 12
    parts = [np.zeros((height, 6), np.uint8)]
    for crop in crops:
        column = np.zeros((height, crop.shape[1]), np.uint8)
        top = (height - crop.shape[0]) // 2 + int(rng.integers(-1, 2))
        column[top : top + crop.shape[0]] = crop
        parts += [column, np.zeros((height, int(rng.integers(2, 7))), np.uint8)]
    strip = np.hstack([*parts, np.zeros((height, 6), np.uint8)])  # (h, w)
    big = cv2.resize(strip, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return on_paper(big.astype(np.float64), rng)


def ink_crop(image: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    moments = cv2.moments(image.astype(np.float32))
    return moments["m01"] / moments["m00"], moments["m10"] / moments["m00"]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, side: int, real_data: bool = True) -> Path:
    """A valid grayscale PNG of side x side zeros: ~100 kB on disk, side**2 bytes decoded."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    rows = side if real_data else 1
    data = b"".join(packer.compress(bytes(side + 1)) for _ in range(rows)) + packer.flush()
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def drawn_digit(size: int = 300, dark_on_light: bool = True) -> np.ndarray:
    """A thick '2'-like stroke drawn with OpenCV, anti-aliased."""
    ink = np.zeros((size, size), np.uint8)
    cv2.ellipse(ink, (150, 110), (60, 55), 0, 180, 400, 255, 22, cv2.LINE_AA)
    cv2.line(ink, (200, 150), (90, 240), 255, 22, cv2.LINE_AA)
    cv2.line(ink, (90, 240), (215, 240), 255, 22, cv2.LINE_AA)
    return 255 - ink if dark_on_light else ink


@pytest.fixture(scope="module")
def mnist_test_digits(mnist_arrays) -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_arrays
    return images[60_000:60_300], labels[60_000:60_300]


# ---- read_image -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_reads_every_supported_format(tmp_path, suffix):
    gray = drawn_digit()
    path = tmp_path / f"digit{suffix}"
    cv2.imwrite(str(path), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    read = read_image(path)
    assert read.dtype == np.uint8 and read.shape == gray.shape
    assert np.abs(read.astype(int) - gray).mean() < 3


def test_alpha_is_composited_on_white(tmp_path):
    from PIL import Image

    ink = drawn_digit(dark_on_light=False)
    rgba = np.zeros((*ink.shape, 4), np.uint8)  # black ink, transparent paper
    rgba[..., 3] = ink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.stack([np.zeros_like(ink), ink], axis=-1), "LA").save(tmp_path / "la.png")
    for name in ("rgba.png", "la.png"):
        read = read_image(tmp_path / name)
        assert read[0, 0] == 255 and abs(int(read[240, 150]) - 0) < 10, name


def test_sixteen_bit_png_scaled_to_uint8(tmp_path):
    gray = drawn_digit()
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 257)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), gray)


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    gray = np.full((40, 100), 255, np.uint8)  # wide, stored sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    Image.fromarray(gray).save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (100, 40)


def test_missing_directory_and_empty(tmp_path):
    with pytest.raises(ImageError, match="nope.png: file not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="not a file"):
        read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png: empty file"):
        read_image(tmp_path / "empty.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("these are not pixels\n" * 20)
    with pytest.raises(ImageError, match=r"notes.png: not an image"):
        read_image(tmp_path / "notes.png")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_truncated_file(tmp_path, suffix):
    ok, buffer = cv2.imencode(suffix, drawn_digit())
    data = buffer.tobytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageError, match=r"truncated or corrupt|corrupt image header"):
        read_image(tmp_path / f"cut{suffix}")


def test_tiny_image(tmp_path):
    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1), np.uint8))
    with pytest.raises(ImageError, match=r"dot.png: image is 1x1, too small"):
        read_image(tmp_path / "dot.png")


def test_unsupported_format(tmp_path):
    from PIL import Image

    Image.fromarray(drawn_digit()).save(tmp_path / "anim.gif")
    with pytest.raises(ImageError, match="unsupported image format GIF"):
        read_image(tmp_path / "anim.gif")


def test_decompression_bomb_refused_without_decoding(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png", 10_000)  # 100 MB of pixels in ~100 kB
    assert bomb.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(ImageError, match=r"10000x10000 \(100.0 megapixels\).*refused without"):
        read_image(bomb)
    assert time.perf_counter() - started < 0.5  # decoding 100 MB would take longer


def test_header_beyond_pillows_own_limit(tmp_path):
    bomb = png_bomb(tmp_path / "huge.png", 30_000, real_data=False)
    with pytest.raises(ImageError, match="huge.png: refused without decoding"):
        read_image(bomb)


def test_file_over_size_limit(tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as handle:  # sparse: costs no disk
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ImageError, match=r"big.png: file is 50.0 MB, over the 50 MB limit"):
        read_image(path)


# ---- to_mnist -----------------------------------------------------------------------------


def test_output_is_mnist_shaped():
    out = to_mnist(drawn_digit())
    assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() == 255
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20


def test_polarity_dark_on_light_equals_light_on_dark(mnist_test_digits):
    rng = np.random.default_rng(0)
    scores = []
    for digit in mnist_test_digits[0][:20]:
        big = cv2.resize(digit, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
        light_on_dark = to_mnist(big)
        dark_on_light = to_mnist(255 - big)
        assert np.abs(light_on_dark.astype(int) - dark_on_light).max() <= 2
        scores.append(correlation(to_mnist(on_paper(big.astype(float), rng)), light_on_dark))
    assert np.median(scores) > 0.9  # grey paper, noise and JPEG on top of the inversion


def test_mnist_input_comes_back_nearly_unchanged(mnist_test_digits):
    scores = [correlation(to_mnist(digit), digit) for digit in mnist_test_digits[0]]
    assert np.median(scores) > 0.99


def test_aspect_ratio_kept_for_a_thin_one():
    page = np.full((400, 300), 230, np.uint8)
    cv2.line(page, (150, 60), (158, 340), 30, 16, cv2.LINE_AA)  # tall, thin, slightly slanted
    out = to_mnist(page)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20
    assert cols[-1] - cols[0] + 1 <= 4


def test_centre_of_mass_at_centre(mnist_test_digits):
    rng = np.random.default_rng(1)
    for digit in mnist_test_digits[0][:50]:
        mass_y, mass_x = centre_of_mass(to_mnist(photo_like(digit, rng)))
        assert abs(mass_y - 14) <= 1 and abs(mass_x - 14) <= 1


def test_photo_like_render_matches_the_original(mnist_test_digits):
    rng = np.random.default_rng(2)
    scores = [correlation(to_mnist(photo_like(d, rng)), d) for d in mnist_test_digits[0][:100]]
    assert np.median(scores) > 0.9


@pytest.mark.parametrize(
    "page",
    [
        np.full((200, 200), 255, np.uint8),
        np.zeros((200, 200), np.uint8),
        np.clip(np.random.default_rng(3).normal(220, 6, (300, 400)), 0, 255).astype(np.uint8),
    ],
    ids=["white", "black", "noisy-paper"],
)
def test_blank_page(page):
    with pytest.raises(ImageError, match="blank: no ink found"):
        to_mnist(page)


def test_specks_are_ignored():
    page = drawn_digit()
    dusty = page.copy()
    cv2.circle(dusty, (20, 280), 2, 0, -1)  # a dust dot far from the digit
    assert np.abs(to_mnist(dusty).astype(int) - to_mnist(page)).max() <= 2


def test_pen_thin_strokes_are_thickened_to_mnist_width():
    page = np.full((400, 400), 235, np.uint8)
    cv2.line(page, (120, 80), (300, 80), 20, 3, cv2.LINE_AA)  # a 7 in 3 px ink
    cv2.line(page, (300, 80), (170, 330), 20, 3, cv2.LINE_AA)
    assert 1.5 <= stroke_width(to_mnist(page)) <= 4


def test_save_to_writes_what_the_model_sees(tmp_path):
    out = to_mnist(drawn_digit(), save_to=tmp_path / "seen" / "digit.png")
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "seen/digit.png"), 0), out)


def test_rejects_non_grayscale_arrays():
    with pytest.raises(ImageError, match="grayscale uint8"):
        to_mnist(np.zeros((50, 50, 3), np.uint8))


# ---- split_digits -------------------------------------------------------------------------


def test_single_digits_stay_whole(mnist_test_digits):
    rng = np.random.default_rng(4)
    counts = [len(split_digits(photo_like(digit, rng))) for digit in mnist_test_digits[0]]
    assert sum(count == 1 for count in counts) >= 0.99 * len(counts)


def broken_strokes() -> tuple[np.ndarray, np.ndarray]:
    """A 5 whose hat does not touch its body and a 4 drawn in two strokes with a gap."""
    five = np.full((300, 300), 240, np.uint8)
    cv2.line(five, (110, 60), (210, 55), 20, 14)  # the hat, not touching the body
    cv2.line(five, (105, 85), (100, 150), 20, 14)
    cv2.ellipse(five, (150, 200), (60, 55), 0, 200, 500, 20, 14)
    four = np.full((300, 300), 240, np.uint8)
    cv2.line(four, (120, 50), (80, 180), 20, 14)  # two strokes: "L" then the stem
    cv2.line(four, (80, 180), (220, 180), 20, 14)
    cv2.line(four, (180, 70), (180, 270), 20, 14)
    four[170:190, 170:190] = 240  # ... with a gap where they would cross
    return five, four


def test_broken_strokes_stay_one_digit():
    five, four = broken_strokes()
    assert len(split_digits(five)) == 1
    assert len(split_digits(four)) == 1


def test_numbers_split_into_their_digits(mnist_test_digits):
    rng = np.random.default_rng(5)
    images, labels = mnist_test_digits
    right = 0
    for _ in range(40):
        chosen = rng.choice(len(images), size=int(rng.integers(3, 5)), replace=False)
        right += len(split_digits(number_image(images[chosen], rng))) == len(chosen)
    assert right >= 38


def test_pieces_come_left_to_right():
    page = np.full((200, 400), 240, np.uint8)
    cv2.circle(page, (300, 100), 50, 20, 12)  # a 0 on the right
    cv2.line(page, (100, 50), (100, 150), 20, 12)  # a 1 on the left
    cv2.circle(page, (200, 185), 2, 20, -1)  # and a speck between them
    thin, round_ = split_digits(page)
    assert ink_crop(thin).shape[1] < ink_crop(thin).shape[0] / 3
    assert abs(ink_crop(round_).shape[1] - ink_crop(round_).shape[0]) < 10


def test_read_digits_gives_what_splitting_then_to_mnist_gives(mnist_test_digits):
    rng = np.random.default_rng(6)
    images, _ = mnist_test_digits
    for digit in images[:20]:  # one digit: one ink pass, the same 28x28 as to_mnist
        photo = photo_like(digit, rng)
        (image,) = read_digits(photo)
        assert np.array_equal(image, to_mnist(photo))
    number = number_image(images[:3], rng)
    expected = [to_mnist(piece) for piece in split_digits(number)]
    assert len(expected) == 3
    assert all(np.array_equal(a, b) for a, b in zip(read_digits(number), expected, strict=True))
