"""The CLI's console filter: TensorFlow's and absl's native notices go, everything else shows."""

from __future__ import annotations

import subprocess
import sys

NOTICES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1795559591.902877    4695 port.cc:153] oneDNN custom operations are on.",
    b"E0000 00:00:1795559618.227388    4692 cuda_platform.cc:52] failed call to cuInit: 303",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
KEPT = [
    b"E0000 00:00:1795559618.227388    4692 allocator.cc:52] out of memory",  # a real error
    b"12:00:01.000 | INFO    | Task run 'train-baseline' - baseline epoch 1/2",
]


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)


def test_native_notices_are_dropped_and_errors_and_tracebacks_kept():
    lines = NOTICES + KEPT
    code = (
        "import os\n"
        "from app.console import quiet_native_logs\n"
        "quiet_native_logs()\n"
        f"for line in {lines!r}:\n"
        "    os.write(2, line + b'\\n')\n"
        "raise RuntimeError('the traceback must show')\n"
    )
    result = run(code)
    assert result.returncode == 1
    assert not any(notice in result.stderr for notice in NOTICES)
    assert all(line in result.stderr for line in KEPT)
    assert b"RuntimeError: the traceback must show" in result.stderr  # flushed at exit


def test_the_cli_filters_unless_verbose():
    """The `digitrec` callback installs the filter, and `--verbose` leaves stderr alone."""
    for verbose, shown in ((False, False), (True, True)):
        code = (
            "import os\n"
            "from app.cli import main\n"
            f"main(verbose={verbose})\n"
            f"os.write(2, {NOTICES[1]!r} + b'\\n' + {KEPT[0]!r} + b'\\n')\n"
        )
        result = run(code)
        assert result.returncode == 0 and KEPT[0] in result.stderr
        assert (NOTICES[1] in result.stderr) is shown
