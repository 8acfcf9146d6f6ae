"""The gate's renders from a process of their own: `python -m digitrec.pipeline.render_child`
with a pickled RunContext on stdin fills the render cache (`rejection.rendered_inputs`), which the
training process then reads back. Rendering is OpenCV work driven from Python: in a thread beside
the training it competed for the GIL and often doubled an epoch (bench/RESULTS.md)."""

from __future__ import annotations

import pickle
import sys

from digitrec.pipeline.rejection import rendered_inputs

if __name__ == "__main__":
    rendered_inputs(pickle.load(sys.stdin.buffer))
