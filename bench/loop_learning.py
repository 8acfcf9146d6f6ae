"""Does the loop learn? For each population of digits that are not MNIST's (bench/populations.py)
and each k labels: copy a home whose champion came from `digitrec train --profile fast`, import
k labelled images with `digitrec feedback import`, run the real `train` flow with profile
`adapt`, and measure the adapted model on the population's never-labelled rest, the MNIST hidden
test, the training seconds and the flow's wall time. Then forgetting: 5 successive `adapt`
rounds of 100 labels, each from another population, in one home. Publishes the learning curves
as an artifact of its own flow run and writes bench/loop_learning.{json,png}.

    .venv/bin/python bench/loop_learning.py --base-home /tmp/loop-base [--ks 25,50,100,200]
        [--populations uci-scan,uci-photo,fonts]
        [--rounds uci-scan,uci-photo,fonts,strokes,thick-photo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.populations import population  # noqa: E402
from digitrec.hardware import this_cpu  # noqa: E402

POOL = 400  # labelled candidates per population; the rest is never labelled
REST = 1000  # never-labelled images scored per population (at most)


def write_images(items: list, folder: Path) -> list[tuple[Path, int]]:
    """PNG files in one folder per label (the import's class-folder layout)."""
    out = []
    for i, (image, label) in enumerate(items):
        path = folder / str(label) / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)
        out.append((path, label))
    return out


def rest_accuracy(model: Path, rest: list[tuple[Path, int]]) -> float:
    """Share of the rest read as its label (a "not a digit" answer is wrong), through predict."""
    return rest_scores(model, rest)[0]


def rest_scores(model: Path, rest: list[tuple[Path, int]]) -> tuple[float, float]:
    """(share read as its label, share refused as "not a digit"), through predict."""
    from digitrec.inference.prediction import read_inputs

    readings = read_inputs(model, [str(p) for p, _ in rest], multi_digit=False)
    pairs = list(zip(readings.predictions, rest, strict=True))
    right = sum(not p.rejected and p.digit == label for p, (_, label) in pairs)
    return right / len(pairs), sum(p.rejected for p, _ in pairs) / len(pairs)


def import_labels(home: Path, folder: Path, source: str) -> dict:
    """`digitrec feedback import FOLDER --source SOURCE --json` into `home`."""
    env = {**os.environ, "DIGITREC_HOME": str(home)}
    command = [str(ROOT / ".venv/bin/digitrec"), "feedback", "import", str(folder)]
    done = subprocess.run([*command, "--source", source, "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


def adapt(home: Path) -> dict:
    """The `train` flow with profile adapt in `home`: its numbers and wall time."""
    from flows.training import train

    os.environ["DIGITREC_HOME"] = str(home)
    started = time.perf_counter()
    summary = train(profile="adapt")
    flow_seconds = time.perf_counter() - started
    run_dir = Path(summary.run_dir)
    stage = json.loads((run_dir / "stages" / "adapted.json").read_text())
    registration = json.loads((run_dir / "registration.json").read_text())
    return {
        "run_dir": str(run_dir), "flow_seconds": round(flow_seconds, 1),
        "train_seconds": stage["train_seconds"], "hidden": summary.hidden_test_accuracy,
        "promoted": summary.champion, "reason": summary.champion_reason,
        "gate": registration["gate"],
    }  # fmt: skip


def champion_numbers(home: Path) -> tuple[Path, float]:
    """The champion's model file and its hidden-test accuracy in `home`."""
    os.environ["DIGITREC_HOME"] = str(home)
    from digitrec.registry import champion

    record = champion()
    return Path(record.model_path), float(record.hidden_test_accuracy)


def prepared(names: list[str], work: Path) -> dict:
    """Per population: its labelled pool and its never-labelled rest, as files."""
    out = {}
    for name in names:
        items = population(name)
        pool = write_images(items[:POOL], work / name / "pool")
        rest = write_images(items[POOL : POOL + REST], work / name / "rest")
        out[name] = {"pool": pool, "rest": rest}
    return out


def labelled_subset(pool: list[tuple[Path, int]], k: int, folder: Path) -> Path:
    """The first k pool images as a class-folder tree of their own."""
    for path, label in pool[:k]:
        target = folder / str(label) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder


def learning_curves(base: Path, sets: dict, ks: list[int], work: Path) -> list[dict]:
    model, hidden = champion_numbers(base)
    rows = []
    for name, files in sets.items():
        rows.append({"population": name, "k": 0, "rest": rest_accuracy(model, files["rest"]),
                     "hidden": hidden})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
        for k in ks:
            home = work / f"home-{name}-{k}"
            shutil.copytree(base, home)
            folder = labelled_subset(files["pool"], k, work / f"labels-{name}-{k}")
            imported = import_labels(home, folder, name)
            result = adapt(home)
            result["rest"] = rest_accuracy(Path(result["run_dir"]) / "model.keras", files["rest"])
            rows.append({"population": name, "k": k, "imported": imported["imported"], **result})
            print(json.dumps({key: v for key, v in rows[-1].items() if key != "gate"}), flush=True)
            shutil.rmtree(home, ignore_errors=True)
    return rows


def forgetting(base: Path, sets: dict, order: list[str], work: Path, k: int = 100) -> list[dict]:
    """Successive adapt rounds in one home, each on k labels of the next population."""
    home = work / "home-forgetting"
    shutil.copytree(base, home)
    rows = []
    for number, name in enumerate(order, 1):
        folder = labelled_subset(sets[name]["pool"], k, work / f"round-{number}-{name}")
        import_labels(home, folder, name)
        result = adapt(home)
        model, hidden = champion_numbers(home)
        scores = {n: rest_scores(model, sets[n]["rest"]) for n in order[:number]}
        rests = {n: right for n, (right, _) in scores.items()}
        refused = {n: share for n, (_, share) in scores.items()}
        rows.append({"round": number, "population": name, "promoted": result["promoted"],
                     "hidden": hidden, "rest": rests, "refused": refused,
                     "train_seconds": result["train_seconds"],
                     "flow_seconds": result["flow_seconds"]})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def figure(rows: list[dict], path: Path) -> Path:
    """Accuracy on each population's never-labelled rest against the labels given."""
    from digitrec.plotting import new_figure, to_png

    fig = new_figure(6, 4)
    ax = fig.subplots()
    for name in dict.fromkeys(r["population"] for r in rows):
        points = [(r["k"], 100 * r["rest"]) for r in rows if r["population"] == name]
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set(xlabel="labelled images imported (k)", ylabel="never-labelled rest read right (%)",
           title="adapt: what a few labels teach")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend()
    path.write_bytes(to_png(fig))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-home", type=Path, required=True)
    parser.add_argument("--ks", default="25,50,100,200,400")
    parser.add_argument("--populations", default="uci-scan,uci-photo,fonts")
    parser.add_argument("--rounds", default="uci-scan,uci-photo,fonts,strokes,thick-photo")
    parser.add_argument("--skip-curves", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "loop_learning.json")
    args = parser.parse_args()
    print(f"CPU: {this_cpu().describe()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="digitrec-loop-"))
    rounds = args.rounds.split(",") if args.rounds else []
    names = list(dict.fromkeys(args.populations.split(",") + rounds))
    sets = prepared(names, work)
    ks = [int(k) for k in args.ks.split(",")]
    curves = [] if args.skip_curves else learning_curves(args.base_home, sets, ks, work)
    forgot = forgetting(args.base_home, sets, rounds, work) if rounds else []
    args.out.write_text(json.dumps({"cpu": this_cpu().describe(), "curves": curves,
                                    "forgetting": forgot}, indent=1))  # fmt: skip
    if curves:
        publish(figure(curves, args.out.with_suffix(".png")), curves, forgot)
    shutil.rmtree(work, ignore_errors=True)


def publish(png: Path, curves: list[dict], forgot: list[dict]) -> None:
    """The learning curves as a markdown artifact of a flow run of this benchmark."""
    from prefect import flow
    from prefect.artifacts import create_markdown_artifact

    from digitrec import markdown as md

    @flow(name="loop-learning-bench")
    def report() -> None:
        table = [{k: r.get(k) for k in ("population", "k", "rest", "hidden", "train_seconds",
                                         "flow_seconds", "promoted")} for r in curves]  # fmt: skip
        body = md.image(png.read_bytes(), "learning curves") + "\n" + md.table(table)
        about = f"{len(curves)} runs, {len(forgot)} rounds"
        create_markdown_artifact(markdown=body, key="loop-learning", description=about)

    report()


if __name__ == "__main__":
    main()
