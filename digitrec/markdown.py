"""Markdown building blocks for Prefect artifacts and the self-contained run report.

Every block ends with one newline; join blocks with "\\n" to get a blank line between them.
"""

from __future__ import annotations

import base64
import numbers
import re

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~\"'])")


def escape(text: str) -> str:
    """Untrusted text (an input's name) shown literally: no markup, links or HTML, one line."""
    flat = " ".join(str(text).split())
    marked = MARKDOWN_PUNCTUATION.sub(r"\\\1", flat)
    return "".join(HTML_ENTITIES.get(c, c) for c in marked)


def cell(value, floats: str) -> str:
    """One table cell: floats formatted, None empty, and nothing that breaks the row."""
    if value is None:
        text = ""
    elif isinstance(value, numbers.Real) and not isinstance(value, bool | numbers.Integral):
        text = floats.format(float(value))
    else:
        text = str(value)
    return text.replace("|", r"\|").replace("\r\n", "<br>").replace("\n", "<br>")


def is_numeric(values: list) -> bool:
    """A column of numbers (None allowed), right-aligned in the table."""
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present
    )


def table(rows: list[dict], columns: list[str] | None = None, floats: str = "{:.4f}") -> str:
    """A GitHub markdown table; columns default to the keys of the rows, in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    if not columns:
        return "_(no rows)_\n"
    header = "| " + " | ".join(cell(name, floats) for name in columns) + " |"
    aligns = ["---:" if is_numeric([row.get(name) for row in rows]) else "---" for name in columns]
    lines = [header, "| " + " | ".join(aligns) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(cell(row.get(name), floats) for name in columns) + " |")
    return "\n".join(lines) + "\n"


def image(png: bytes, alt: str) -> str:
    """An inline PNG as a data URI, so the markdown needs no files beside it."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError(f"image {alt!r}: data is not a PNG")
    text = " ".join(alt.split()).replace("[", r"\[").replace("]", r"\]")
    encoded = base64.b64encode(png).decode("ascii")
    return f"![{text}](data:image/png;base64,{encoded})\n"


def section(title: str, body: str, level: int = 2) -> str:
    """A heading followed by its body."""
    if not 1 <= level <= 6:
        raise ValueError(f"heading level must be 1..6, got {level}")
    heading = "#" * level + " " + " ".join(title.split())
    return f"{heading}\n\n{body.strip()}\n"
