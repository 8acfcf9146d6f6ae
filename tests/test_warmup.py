"""Background imports for the CLI."""

import sys

from app.warmup import import_in_background


def test_modules_are_imported_in_the_background():
    sys.modules.pop("colorsys", None)  # a standard-library module nothing here imports
    thread = import_in_background(("colorsys",))
    thread.join(timeout=30)
    assert not thread.is_alive() and "colorsys" in sys.modules


def test_a_failing_import_stops_the_thread_quietly():
    thread = import_in_background(("digitrec_no_such_module", "colorsys"))
    thread.join(timeout=30)
    assert not thread.is_alive() and "digitrec_no_such_module" not in sys.modules
