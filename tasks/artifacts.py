"""Publishing Prefect artifacts: markdown and tables, JSON-safe."""

from __future__ import annotations

import json
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from digitrec import markdown as md


def plain(value):
    """numpy scalars and arrays to plain Python (artifacts go through json.dumps)."""
    return json.loads(
        json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
    )


def publish_markdown(key: str, markdown: str, description: str) -> None:
    create_markdown_artifact(markdown=markdown, key=key, description=description)


def publish_table(key: str, rows: list[dict], description: str) -> None:
    create_table_artifact(table=plain(rows), key=key, description=description)


def publish_table_and_figure(key: str, row: dict, figure: Path, description: str) -> None:
    """One row of numbers and the figure that shows them, as one markdown artifact."""
    body = md.table([plain(row)]) + "\n" + md.image(figure.read_bytes(), figure.stem)
    publish_markdown(key, body, description)
