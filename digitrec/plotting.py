"""Matplotlib figures rendered off-screen to PNG bytes, shared by the training report's and the
monitor's figures: small (for data-URI artifacts) and byte-stable (equal figures, equal PNGs)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 80  # keeps each PNG at a few tens of KB for data URIs


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (sizes in inches)."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_png(figure: Figure) -> bytes:
    """Render without a timestamp or software tag, so equal figures give equal bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
