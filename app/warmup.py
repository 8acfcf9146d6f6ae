"""Import heavy libraries in a background thread while the caller waits on something else.

`digitrec train` in Prefect's ephemeral mode first waits several seconds for a temporary
server process to start; TensorFlow and Great Expectations (~5 s of imports on 2 cores) load
meanwhile instead of inside the first tasks that need them."""

from __future__ import annotations

import importlib
import threading

HEAVY_MODULES = ("tensorflow", "keras", "great_expectations")


def import_in_background(modules: tuple[str, ...] = HEAVY_MODULES) -> threading.Thread:
    """Start importing `modules` in a daemon thread; join it before the process exits."""

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the code that needs it imports it again and fails there
                return

    thread = threading.Thread(target=run, name="digitrec-preload", daemon=True)
    thread.start()
    return thread
