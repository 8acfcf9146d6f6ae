"""Logged predictions for the review tests: small synthetic images with chosen confidences."""

from __future__ import annotations

import numpy as np

from digitrec.loop import log
from digitrec.loop.store import png_base64, utc_now


def digit_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)  # (28, 28)


def logged(
    i: int,
    confidence: float | None = 0.9,
    digits: int = 1,
    rejected: bool = False,
    name: str | None = None,
    image: bool = True,
    summary: dict | None = None,
) -> log.LoggedPrediction:
    """Prediction `i`: one digit (i % 10) or a number of `digits` digits, each image distinct."""
    strip = np.hstack([digit_image(100 * i + d) for d in range(digits)])  # (28, 28 * digits)
    number = "".join(str((i + d) % 10) for d in range(digits))
    return log.LoggedPrediction(
        id=f"{i:032x}",
        time=utc_now(),
        source="cli",
        input=name or f"p{i}.png",
        model="champion",
        digit=None if rejected or digits > 1 else i % 10,
        digits=number if digits > 1 and not rejected else None,
        confidence=confidence,
        rejected=rejected,
        reason="not a digit" if rejected else None,
        image_png=png_base64(strip) if image and summary is None else None,
        summary=summary,
    )


def write_log(*records: log.LoggedPrediction) -> list[log.LoggedPrediction]:
    log.append(list(records))
    return list(records)
