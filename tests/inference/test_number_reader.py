"""The number reader's serving side on tiny data: the line layout, CTC decoding and the cut of a
line into the digits read. The trained reader's behaviour is tested in test_numbers.py."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.inference.ctc import BLANK, greedy
from digitrec.inference.files import ImageError
from digitrec.inference.line import LINE_HEIGHT, LINE_INK, LINE_MARGIN, LINE_WIDTH, ink_line
from digitrec.inference.number_reader import digit_images
from digitrec.modeling import number_reader


def steps(*classes: int, sure: float = 0.9) -> np.ndarray:
    """Per-step probabilities (T, 11) whose best class at each step is the one given."""
    out = np.full((len(classes), BLANK + 1), (1 - sure) / BLANK, np.float32)
    out[np.arange(len(classes)), classes] = sure
    return out


def test_greedy_merges_repeats_and_drops_blanks():
    reading = greedy(steps(BLANK, 7, 7, BLANK, 7, 1, 1, BLANK, BLANK, 0))
    assert reading.digits == "7710"
    assert reading.steps.tolist() == [1, 4, 5, 9]
    assert reading.probabilities.shape == (4, 10)
    np.testing.assert_allclose(reading.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert reading.probabilities.argmax(axis=1).tolist() == [7, 7, 1, 0]


def test_greedy_takes_each_digit_where_it_is_surest():
    probabilities = steps(BLANK, 3, 3, 3)
    probabilities[2, 3], probabilities[2, 8] = 0.6, 0.39  # the middle step doubts: 3 or 8
    reading = greedy(probabilities)
    assert reading.digits == "3"
    assert reading.steps.tolist() in ([1], [3])  # a sure step, not the doubtful one
    assert reading.probabilities[0, 3] > 0.9


def test_an_all_blank_line_reads_nothing():
    reading = greedy(steps(BLANK, BLANK, BLANK))
    assert reading.digits == ""
    assert reading.probabilities.shape == (0, 10)


def test_a_line_keeps_the_ink_height_and_squeezes_a_long_number():
    ink = np.zeros((60, 90), np.uint8)
    ink[10:50, 20:30] = 255  # one bar 40 px tall
    line = ink_line(ink)
    assert line.pixels.shape == (LINE_HEIGHT, LINE_WIDTH)
    rows = np.flatnonzero(line.pixels.any(axis=1))
    assert rows[-1] - rows[0] + 1 == LINE_INK
    assert np.flatnonzero(line.pixels.any(axis=0))[0] == LINE_MARGIN
    long = np.zeros((40, 4000), np.uint8)
    long[5:35, 10:3990] = 255
    squeezed = ink_line(long)
    assert squeezed.pixels[:, LINE_WIDTH - LINE_MARGIN :].max() == 0  # the margin stays black
    assert squeezed.scale < LINE_INK / 30


def test_a_blank_line_is_refused():
    with pytest.raises(ImageError, match="no ink"):
        ink_line(np.zeros((40, 40), np.uint8))


def test_digits_are_cut_between_the_steps_they_were_read_at():
    ink = np.zeros((40, 200), np.uint8)
    ink[5:35, 20:40] = 255  # a blob at columns 20-39 ...
    ink[5:35, 120:130] = 255  # ... and a bar at 120-129
    line = ink_line(ink)
    left_step = int((LINE_MARGIN + 10 * line.scale) // 4)
    right_step = int((LINE_MARGIN + 105 * line.scale) // 4)
    probabilities = steps(*[BLANK] * number_reader.STEPS)
    probabilities[left_step] = steps(4)[0]
    probabilities[right_step] = steps(1)[0]
    images = digit_images(ink, line, greedy(probabilities))
    assert len(images) == 2
    assert all(image.shape == (28, 28) for image in images)
    widths = [np.flatnonzero(image.any(axis=0)).size for image in images]
    assert widths[0] > widths[1]  # the blob first, the bar second


def test_the_reader_reads_the_line_the_server_lays_out():
    assert number_reader.LINE_SHAPE == (LINE_HEIGHT, LINE_WIDTH, 1)
    assert number_reader.BLANK == BLANK
    model = number_reader.build_reader()
    assert model.output_shape == (None, number_reader.STEPS, number_reader.CLASSES)
