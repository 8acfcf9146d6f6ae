"""A flow for tests/deployments/test_forkserver.py: it reports which process ran it and when its
module was imported. Its parameter's annotation is a string (`from __future__ import annotations`)
naming `Annotated` and `Field`, which a copy of the function made by value cannot resolve."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from prefect import flow
from pydantic import Field

IMPORTED_IN = os.getpid()  # the process that imported this module


@flow(name="where-am-i")
def where_am_i(report: str, repeat: Annotated[int, Field(ge=1)] = 1) -> None:
    """Write this process's pid, its parent and where this module was imported to `report`."""
    facts = {"pid": os.getpid(), "parent": os.getppid(), "imported_in": IMPORTED_IN}
    Path(report).write_text(json.dumps({**facts, "repeat": repeat}))
