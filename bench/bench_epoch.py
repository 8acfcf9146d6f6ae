"""Where an epoch's time goes: training throughput (images/s) of each architecture, split into
the input pipeline alone, the model's compute alone (pre-made batches) and the two together,
under several TensorFlow thread settings. Each setting runs in a fresh process, because
TensorFlow fixes its thread pools at first use.

    .venv/bin/python bench/bench_epoch.py [--rows 12800] [--json out.json]

"2 procs x 1 thread" runs two single-threaded processes at once (what the ensemble's local
Dask cluster does) and reports their summed throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETTINGS = {  # name: (intra-op threads, inter-op threads); 0 = TensorFlow's default
    "default": (0, 0),
    "intra2-inter1": (2, 1),
    "intra1-inter1": (1, 1),
}
POLICY_ENV = "DIGITREC_BENCH_POLICY"  # Keras dtype policy of the children, e.g. mixed_bfloat16
RECIPES = {  # architecture: batch size, as the profiles train them
    "baseline": 128,
    "compact": 256,
    "strong": 128,
}


def measure(architecture: str, batch_size: int, rows: int, intra: int, inter: int) -> dict:
    """Images/s of the pipeline, the compute and both, for one epoch of `rows` images."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_global_policy(os.environ.get(POLICY_ENV, "float32"))
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)

    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv
    from digitrec.modeling.architectures import build_model
    from digitrec.modeling.training import TrainConfig, compile_model, make_dataset

    train = load_csv(ensure_embedded_data().train_csv)
    images, labels = train.images[:rows], train.labels[:rows]
    config = TrainConfig(architecture, epochs=3, batch_size=batch_size)

    def pipeline_epoch() -> list:
        return [batch for batch in make_dataset(images, labels, config, training=True)]

    pipeline_epoch()  # trace the map functions
    started = time.perf_counter()
    batches = pipeline_epoch()
    pipeline = time.perf_counter() - started

    x = tf.concat([b[0] for b in batches], 0)  # (rows, 28, 28, 1) float32, already jittered
    y = tf.concat([b[1] for b in batches], 0)  # (rows, 10)
    premade = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache()
    model = build_model(architecture)
    compile_model(model, config, steps=3 * len(batches))
    model.fit(premade, epochs=1, verbose=0, shuffle=False)  # trace the train step, fill the cache
    started = time.perf_counter()
    model.fit(premade, epochs=1, verbose=0, shuffle=False)
    compute = time.perf_counter() - started
    started = time.perf_counter()
    model.fit(
        make_dataset(images, labels, config, training=True), epochs=1, verbose=0, shuffle=False
    )
    both = time.perf_counter() - started
    return {
        "architecture": architecture,
        "batch_size": batch_size,
        "rows": rows,
        "intra": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        "pipeline_images_per_s": round(rows / pipeline, 1),
        "compute_images_per_s": round(rows / compute, 1),
        "epoch_images_per_s": round(rows / both, 1),
        "pipeline_share": round(pipeline / both, 3),
        "compute_share": round(compute / both, 3),
    }


def augmentation_cost(rows: int, batch_size: int = 256) -> dict:
    """Images/s of one epoch of jitter: digitrec's single affine resample against the notebook's
    three Keras layers (RandomRotation, RandomZoom, RandomTranslation), each in a tf.data map."""
    import keras
    import tensorflow as tf

    from digitrec.data.embedded import ensure_embedded_data
    from digitrec.data.kaggle import load_csv
    from digitrec.modeling.augmentation import Augmentation, random_affine

    images = load_csv(ensure_embedded_data().train_csv).images[:rows, ..., None]
    batches = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
    batches = batches.map(lambda x: tf.cast(x, tf.float32)).cache()
    layers = keras.Sequential(
        [
            keras.layers.RandomRotation(10 / 360),
            keras.layers.RandomZoom(0.1),
            keras.layers.RandomTranslation(0.1, 0.1),
        ]
    )
    ours = batches.enumerate().map(
        lambda step, x: random_affine(
            x, tf.stack([tf.constant(0, tf.int64), step]), Augmentation()
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    theirs = batches.map(lambda x: layers(x, training=True), num_parallel_calls=tf.data.AUTOTUNE)
    result = {}
    for name, ds in (("one_affine", ours), ("keras_layers", theirs)):
        for _ in ds:  # warm-up: trace, fill the cache
            pass
        started = time.perf_counter()
        for _ in ds:
            pass
        result[name] = round(rows / (time.perf_counter() - started), 1)
    return result


def child(args: list[str]) -> subprocess.Popen:
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(
        [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True, env=env
    )


def collect(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"benchmark child failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_800)
    parser.add_argument("--architectures", default=",".join(RECIPES))
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the table shows medians")
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument(
        "--settings", help="only these thread settings (comma-separated); skips the pairs"
    )
    parser.add_argument("--policy", default="float32", help="Keras dtype policy, mixed_bfloat16")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.child[0] == "augmentation":
        print(json.dumps(augmentation_cost(int(args.child[3]))))
        return
    if args.child:
        arch, intra, inter, rows = args.child
        print(json.dumps(measure(arch, RECIPES[arch], int(rows), int(intra), int(inter))))
        return

    os.environ[POLICY_ENV] = args.policy
    settings = {k: v for k, v in SETTINGS.items() if not args.settings or k in args.settings}
    runs: list[dict] = []
    for _ in range(args.repeats):  # rounds interleave the settings, so drift hits them alike
        for arch in args.architectures.split(","):
            for name, (intra, inter) in settings.items():
                row = collect(child([arch, str(intra), str(inter), str(args.rows)]))
                runs.append(row | {"setting": name})
            if args.settings:
                continue
            pair = [collect(p) for p in [child([arch, "1", "1", str(args.rows)]) for _ in range(2)]]
            total = sum(r["epoch_images_per_s"] for r in pair)
            runs.append(
                {"architecture": arch, "setting": "2procs-1thread", "epoch_images_per_s": total}
            )
    print("| model | threads | pipeline img/s | compute img/s | epoch img/s | pipeline |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for arch in args.architectures.split(","):
        for name in [*settings, *([] if args.settings else ["2procs-1thread"])]:
            group = [r for r in runs if r["architecture"] == arch and r["setting"] == name]
            cells = [
                f"{median(group, key):,.0f}" if key in group[0] else ""
                for key in ("pipeline_images_per_s", "compute_images_per_s", "epoch_images_per_s")
            ]
            share = f"{median(group, 'pipeline_share'):.0%}" if "pipeline_share" in group[0] else ""
            label = "2 processes x 1 thread (sum)" if name == "2procs-1thread" else name
            print(f"| {arch} (batch {RECIPES[arch]}) | {label} | {' | '.join(cells)} | {share} |")
    if args.settings:
        write_json(args.json, runs)
        return
    costs = [
        collect(child(["augmentation", "0", "0", str(args.rows)])) for _ in range(args.repeats)
    ]
    print("\n| augmentation, one epoch in tf.data (default threads) | images/s |")
    print("| --- | ---: |")
    print(f"| one random affine resample (digitrec) | {median(costs, 'one_affine'):,.0f} |")
    print(f"| Keras Random{{Rotation,Zoom,Translation}} | {median(costs, 'keras_layers'):,.0f} |")
    write_json(args.json, runs)


def write_json(path: str | None, runs: list[dict]) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(runs, f, indent=2)


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


if __name__ == "__main__":
    main()
