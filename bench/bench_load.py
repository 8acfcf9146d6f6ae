"""CSV load time: digitrec's loader (pyarrow parse, then the .npz cache) against pandas' default
read_csv on the same file, measured side by side, best of N.

    .venv/bin/python bench/bench_load.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from digitrec.data.embedded import ensure_embedded_data
from digitrec.data.kaggle import load_csv


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="runs per method; best is kept")
    args = parser.parse_args()
    info = ensure_embedded_data()
    results = {}
    for name in ("train_csv", "test_csv"):
        path = getattr(info, name)
        pandas_s = best_of(args.repeats, lambda: pd.read_csv(path))  # noqa: B023
        parse_s = best_of(args.repeats, lambda: load_csv(path, cache=False))  # noqa: B023
        load_csv(path)  # fills the cache
        cached_s = best_of(args.repeats, lambda: load_csv(path))  # noqa: B023
        results[name] = {
            "pandas_read_csv_s": round(pandas_s, 3),
            "digitrec_parse_s": round(parse_s, 3),
            "digitrec_cached_s": round(cached_s, 4),
            "parse_ratio": round(parse_s / pandas_s, 3),
            "cached_ratio": round(cached_s / pandas_s, 4),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
