"""Number lines from a process of their own: `python -m digitrec.pipeline.line_child` with
pickled (images, labels, sizes, seeds, output path) on stdin makes one piece of lines per
(size, seed) and pickles the pieces to the output path (`number_lines.many_lines` runs one per
core and puts the pieces back in order)."""

from __future__ import annotations

import pickle
import sys

from digitrec.pipeline.number_lines import synthetic_lines

if __name__ == "__main__":
    images, labels, sizes, seeds, out = pickle.load(sys.stdin.buffer)
    pieces = [synthetic_lines(images, labels, n, s) for n, s in zip(sizes, seeds, strict=True)]
    out.write_bytes(pickle.dumps(pieces))
