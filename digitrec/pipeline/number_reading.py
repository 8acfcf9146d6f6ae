"""Number-reader step: train the run's number reader on numbers written with its training split
(or carry the champion's over, unchanged), measure it by spacing on numbers written with its
validation split, export it to LiteRT (kept only when it reads every check number as Keras
does), and draw what it read."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from digitrec.data.numbers import SPACINGS
from digitrec.inference.ctc import greedy
from digitrec.inference.number_reader import load_line_predictor, reader_path
from digitrec.modeling.number_reader import ReaderConfig
from digitrec.pipeline.number_lines import many_lines, number_strings, synthetic_lines
from digitrec.pipeline.records import NumberReading, RunContext
from digitrec.pipeline.run import load_split
from digitrec.storage import write_bytes_atomic, write_json_atomic, write_with

CHECK_PER_SPACING = 200  # validation numbers of 2-10 digits per spacing
PASSES = 4  # each synthetic number is seen about this many times
STEPS_SETTING = "DIGITREC_READER_STEPS"  # overrides the profile's steps; 0: train no reader
FIGURE_FILE = "figures/number_reader.png"
Lines = tuple[np.ndarray, np.ndarray, list[str]]  # (N, 28, 256) lines, targets, spacings


def reader_steps(profile_steps: int) -> int:
    """The steps to train a reader for: $DIGITREC_READER_STEPS when set, else the profile's."""
    setting = os.environ.get(STEPS_SETTING, "").strip()
    if not setting:
        return profile_steps
    if not setting.isdigit():
        raise ValueError(f"{STEPS_SETTING}={setting!r}: expected a whole number of steps (0: none)")
    return int(setting)


def lines_for(steps: int) -> int:
    """How many synthetic numbers a reader of `steps` steps trains on."""
    return steps * ReaderConfig.batch_size // PASSES


def number_reader_step(
    run: RunContext, model_path: Path, steps: int, champion: Path | None = None, on_step=None
) -> NumberReading | None:
    """The number reader of the run's model (`model_path`): the champion's reader, carried
    over, when it trained for at least `steps`; else one trained here for `steps` (a longer
    profile trains a better one once), kept only when it reads this run's check numbers at
    least as well as the champion's; None when `steps` is 0 and there is none to carry."""
    target = reader_path(model_path)
    held = reader_path(champion) if champion is not None else None
    if held is not None and trained_steps(held) >= steps:
        return carry_over(held, target)
    if steps == 0:
        return None
    train, train_idx, val_idx = load_split(run)
    lines = lines_for(steps)
    made = many_lines(train.images[train_idx], train.labels[train_idx], lines, run.seed)
    seconds = train_into(target, run, made, steps, on_step)
    check = {
        spacing: synthetic_lines(
            train.images[val_idx], train.labels[val_idx], CHECK_PER_SPACING, run.seed + 1,
            lengths=(2, 10), shares={spacing: 1.0},
        )
        for spacing in SPACINGS
    }  # fmt: skip
    reads, litert = checked_export(target, check)
    truths = {spacing: number_strings(written[1]) for spacing, written in check.items()}
    exact = {s: agreement(reads[s], truths[s], exact=True) for s in check}
    if held is not None and trained_steps(held) >= 0:
        theirs = champion_exact(champion, check, truths)
        if mean(theirs) > mean(exact):
            discard(target)
            kept = carry_over(held, target)
            note = f"the champion's reads this run's check numbers better: {mean(theirs):.1%}"
            return replace(kept, note=f"{note} against {mean(exact):.1%} for one trained here")
    result = NumberReading(
        path=str(target),
        litert=str(litert) if litert else None,
        trained=True,
        seconds=round(seconds, 1),
        lines=lines,
        steps=steps,
        exact=exact,
        count={s: agreement(reads[s], truths[s], exact=False) for s in check},
        figure=str(run.run_dir / FIGURE_FILE),
    )
    grid = sample_grid(check["touching"][0], truths["touching"], reads["touching"])
    write_bytes_atomic(result.figure, grid)
    write_json_atomic(summary_path(target), asdict(result))
    return result


def champion_exact(
    model: Path, check: dict[str, Lines], truths: dict[str, list[str]]
) -> dict[str, float]:
    """Per spacing, the share of the check numbers the reader beside `model` reads exactly."""
    predictor = load_line_predictor(model)
    return {s: agreement(read_batch(predictor, made[0]), truths[s], exact=True)
            for s, made in check.items()}  # fmt: skip


def mean(shares: dict[str, float]) -> float:
    return float(np.mean(list(shares.values())))


def discard(target: Path) -> None:
    """Remove a reader trained here and its LiteRT export (the champion's replaces them)."""
    for path in (target, target.with_suffix(".tflite")):
        path.unlink(missing_ok=True)


def summary_path(reader: Path) -> Path:
    """model.number_reader.json: how the reader read when it was trained (a model sidecar, so
    it travels with the reader into the registry)."""
    return reader.with_suffix(".json")


def trained_steps(reader: Path) -> int:
    """The steps a stored reader trained for (-1: there is none); its summary names them, or
    (written before it did) the lines it trained on, PASSES times each in batches."""
    summary = summary_path(reader)
    if not summary.is_file():
        return -1
    measured = json.loads(summary.read_text())
    return int(measured.get("steps", measured["lines"] * PASSES // ReaderConfig.batch_size))


def carry_over(source: Path, target: Path) -> NumberReading:
    """Copy the champion's reader, its LiteRT export and its measurements beside the new model:
    the same reader, so the same numbers; no figure is drawn again."""
    for path in (source, source.with_suffix(".tflite"), summary_path(source)):
        if path.is_file():
            copied = target.with_name(target.name.removesuffix(".keras") + path.suffix)
            write_with(copied, lambda tmp, path=path: shutil.copyfile(path, tmp))
    measured = json.loads(summary_path(target).read_text())
    litert = target.with_suffix(".tflite")
    return NumberReading(**{
        **measured, "path": str(target), "litert": str(litert) if litert.is_file() else None,
        "trained": False, "seconds": 0.0, "lines": 0, "figure": "",
        "steps": trained_steps(target),
    })  # fmt: skip


def train_into(target: Path, run: RunContext, made: Lines, steps: int, on_step) -> float:
    """Train a reader on synthetic lines, save it to `target`; the training seconds."""
    from digitrec.modeling.number_reader import train_reader

    config = ReaderConfig(steps=steps, precision=run.precision, seed=run.seed)
    model, seconds = train_reader(made[0], made[1], config, on_step)
    write_with(target, model.save)
    return seconds


def read_batch(predictor, lines: np.ndarray) -> list[str]:
    """The digits read in each line (N, 28, 256)."""
    probabilities = predictor(lines[..., None].astype(np.float32))  # (N, STEPS, 11)
    return [greedy(row).digits for row in probabilities]


def checked_export(
    target: Path, check: dict[str, Lines]
) -> tuple[dict[str, list[str]], Path | None]:
    """Every check line read by the Keras reader, and its LiteRT export: kept only when it
    reads each of them as Keras does."""
    import keras

    from digitrec.inference.runtimes import litert_predictor

    model = keras.saving.load_model(target, compile=False)
    keras_read = lambda batch: np.asarray(model.predict(batch, batch_size=256, verbose=0))  # noqa: E731
    reads = {spacing: read_batch(keras_read, made[0]) for spacing, made in check.items()}
    litert = target.with_suffix(".tflite")
    write_with(litert, lambda tmp: model.export(str(tmp), format="litert", verbose=False))
    served = litert_predictor(litert)
    same = all(read_batch(served, made[0]) == reads[s] for s, made in check.items())
    if not same:
        litert.unlink(missing_ok=True)
    return reads, litert if same else None


def agreement(reads: list[str], truths: list[str], exact: bool) -> float:
    """Share of numbers read exactly (or with the right number of digits)."""
    pairs = zip(reads, truths, strict=True)
    return round(float(np.mean([a == b if exact else len(a) == len(b) for a, b in pairs])), 4)


def sample_grid(lines: np.ndarray, truths: list[str], reads: list[str], rows: int = 12) -> bytes:
    """A PNG of the first `rows` lines with what the reader read, wrong ones in red."""
    from digitrec.plotting import new_figure, to_png

    figure = new_figure(7, 0.55 * rows)
    for i in range(min(rows, len(lines))):
        axis = figure.add_subplot(rows, 1, i + 1)
        axis.imshow(lines[i], cmap="gray", aspect="auto")
        axis.set_axis_off()
        colour = "black" if reads[i] == truths[i] else "red"
        title = f"read {reads[i] or '-'} (written {truths[i]})"
        axis.set_title(title, fontsize=7, color=colour, loc="left", pad=1)
    return to_png(figure)
