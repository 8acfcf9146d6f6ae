"""Quiet console output for the CLI. TensorFlow and absl write start-up notices (oneDNN, CUDA
probing, "All log messages before absl::InitializeLog()") straight to file descriptor 2, and
TF_CPP_MIN_LOG_LEVEL no longer silences them. `quiet_native_logs` routes fd 2 through a filter
that drops exactly those lines, for this process and the workers it starts; everything else,
Python tracebacks and native errors included, still shows."""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

NATIVE_NOTICE = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]"  # absl INFO and WARNING lines
    rb"|E\d{4} [\d:.]+ +\d+ cuda\w*\.cc:\d+\]"  # probing for a GPU that is absent
    rb"|To enable the following instructions: .* rebuild TensorFlow"  # an INFO line's 2nd line
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."  # LiteRT's interpreter
    rb"|fully_quantize: \d+, inference_type: )"  # the int8 converter's settings
)
END = b"\0digitrec-stderr-end\n"  # written by the restore step: everything before it is shown


def is_notice(line: bytes) -> bool:
    return NATIVE_NOTICE.match(line) is not None


def quiet_native_logs() -> None:
    """Filter fd 2 until the process exits (restored, and drained, by an atexit hook)."""
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                done = line.endswith(END)
                line = line.removesuffix(END)
                if line and not is_notice(line):
                    os.write(terminal, line)
                if done:
                    return

    thread = threading.Thread(target=forward, name="digitrec-stderr", daemon=True)
    thread.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(terminal, 2)
        os.write(write_end, END)
        os.close(write_end)
        thread.join(timeout=5)

    atexit.register(restore)
