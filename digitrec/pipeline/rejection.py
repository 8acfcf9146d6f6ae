"""Rejection step: train the "not a digit" gate on the run's training digits and synthetic
non-digits, set its threshold on the validation digits, measure it on held-out non-digits,
and export it to LiteRT beside model.keras (`model.gate.tflite`, `model.gate.json`)."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE
from digitrec.evaluation import confidence_figures
from digitrec.inference.rejection import combined_score, gate_path, gate_settings_path
from digitrec.inference.runtimes import litert_predictor
from digitrec.loop import feedback
from digitrec.loop.store import png_pixels
from digitrec.modeling.rejection import gate_scores, threshold_for, train_gate
from digitrec.pipeline.data import save_figures
from digitrec.pipeline.feedback import checked_rows
from digitrec.pipeline.gate_renders import (
    cached,
    gate_digits,
    make_nondigits,
    one_opencv_thread,
    training_nondigits,
)
from digitrec.pipeline.records import GateInputs, Rejection, RunContext, plain
from digitrec.pipeline.run import load_split, probabilities
from digitrec.storage import write_json_atomic, write_with

GATE_DIGITS = 20_000  # training digits the gate sees (at most) and as many non-digits
HELD_OUT_NONDIGITS = 2_000
HELD_OUT_SEED_OFFSET = 1_000_003  # held-out non-digits never share a seed with training ones
EXPORT_TOLERANCE = 1e-3  # LiteRT gate scores may differ from Keras' by float rounding only
REVIEWED_SHARE = 0.05  # people's labels, repeated, are at least this share of each class
MAX_REPEATS = 10
GATE_INPUTS = "gate_inputs.npz"  # in the run folder, from rendering until the gate is trained


@dataclass(frozen=True)
class GateImages:
    """What the gate trains on (digits and non-digits, each (n, 28, 28) uint8) and the held-out
    non-digits it is measured on; in memory, never passed between tasks (see GateInputs)."""

    digits: np.ndarray
    nondigits: np.ndarray
    held_out: np.ndarray


def prepare_gate_inputs(run: RunContext, in_child: bool = False) -> GateInputs:
    """Render the gate's images (`gate_images`) and write them, atomically, to the run folder's
    GATE_INPUTS: what the gate's training step reads."""
    images = gate_images(run, in_child)
    path = run.run_dir / GATE_INPUTS
    arrays = {"digits": images.digits, "nondigits": images.nondigits, "held_out": images.held_out}
    write_with(path, lambda tmp: np.savez(tmp, **arrays))  # uncompressed: written in 0.1 s
    return GateInputs(path, len(images.digits), len(images.nondigits), len(images.held_out))


def load_gate_images(inputs: GateInputs) -> GateImages:
    """The images `prepare_gate_inputs` wrote."""
    with np.load(inputs.path) as stored:
        return GateImages(stored["digits"], stored["nondigits"], stored["held_out"])


def gate_images(run: RunContext, in_child: bool = False) -> GateImages:
    """Render the gate's inputs. Rendering is OpenCV work on one core, so the flow does it while
    the digit models train; every part is cached by content, so a rerun on the same data reads
    it back instead. `in_child`: a child process renders them into the cache first (the flow's
    way: it leaves this process's GIL to the training), and this one reads them back."""
    if in_child:
        render_in_child(run)
    digits, nondigits, held_out = rendered_inputs(run)
    reviewed_digits, reviewed_nondigits = reviewed_examples()  # people's labels weigh in too
    return GateImages(
        np.r_[digits, weighed(reviewed_digits, len(digits))],
        np.r_[nondigits, weighed(reviewed_nondigits, len(nondigits))],
        held_out,
    )


def weighed(reviewed: np.ndarray, rendered: int) -> np.ndarray:
    """People's labelled images (n, 28, 28) repeated until they are REVIEWED_SHARE of the
    `rendered` images beside them (at most MAX_REPEATS times each): 100 labels of a new
    population among 20,000 rendered digits taught the gate too little to hold round after
    round of `adapt`, and it refused that population's digits again (bench/RESULTS.md)."""
    if not len(reviewed):
        return reviewed
    times = min(MAX_REPEATS, max(1, int(np.ceil(REVIEWED_SHARE * rendered / len(reviewed)))))
    return np.repeat(reviewed, times, axis=0)


def render_in_child(run: RunContext) -> None:
    """Fill the render cache for `run` from a fresh Python process (`render_child`)."""
    command = [sys.executable, "-m", "digitrec.pipeline.render_child"]
    done = subprocess.run(command, input=pickle.dumps(run), capture_output=True, check=False)
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"rendering the gate's inputs failed (exit {done.returncode}):\n{error}")


def rendered_inputs(run: RunContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rendered training digits, training non-digits and held-out non-digits, each
    (n, 28, 28) uint8, read from the cache where it holds them (what the render child fills)."""
    train, _, _ = load_split(run)
    with np.load(run.split_path) as split:
        train_idx = split["train"]  # train.csv's rows only: new feedback keeps the cache valid
    rng = np.random.default_rng(run.seed)
    picked = train.images[rng.permutation(train_idx)[:GATE_DIGITS]]
    key = hashlib.sha256(picked.tobytes()).hexdigest()[:16]
    held_out_seed = run.seed + HELD_OUT_SEED_OFFSET
    with one_opencv_thread():
        digits = cached(f"digits-{key}-{run.seed}", lambda: gate_digits(picked, run.seed))
        nondigits = training_nondigits(len(digits), run.seed)
        held_out = cached(
            f"held-out-{held_out_seed}-{HELD_OUT_NONDIGITS}",
            lambda: make_nondigits(HELD_OUT_NONDIGITS, seed=held_out_seed),
        )
    return digits, nondigits, held_out


def train_rejector(model_path: str, run: RunContext, inputs: GateInputs) -> Rejection:
    """The gate, its threshold (rejecting at most MAX_DIGITS_REJECTED of validation digits),
    its held-out rates and ROC, and its LiteRT export. The rendered inputs' file is removed
    once the gate is exported: every part of it stays in the render cache."""
    from sklearn.metrics import roc_auc_score, roc_curve

    rendered = load_gate_images(inputs)
    started = time.perf_counter()
    train, _, val_idx = load_split(run)
    gate = train_gate(rendered.digits, rendered.nondigits, seed=run.seed, precision=run.precision)
    seconds = time.perf_counter() - started
    held_out = rendered.held_out
    val_digits = train.images[val_idx]
    # Each part of the score once per set: the gate's probability, the model's confidence.
    gate_parts = [gate_scores(gate, images) for images in (val_digits, held_out)]
    confidences = [top_probability(model_path, images) for images in (val_digits, held_out)]
    digit_scores, other_scores = (
        combined_score(g, c) for g, c in zip(gate_parts, confidences, strict=True)
    )  # (N_val,), (M,)
    threshold = threshold_for(digit_scores)
    export_gate(gate, model_path, held_out[:256])
    inputs.path.unlink(missing_ok=True)
    truth = np.r_[np.zeros(len(digit_scores)), np.ones(len(other_scores))]
    result = Rejection(
        threshold=threshold,
        digits_rejected=float((digit_scores >= threshold).mean()),
        nondigits_rejected=float((other_scores >= threshold).mean()),
        auc=float(roc_auc_score(truth, np.r_[digit_scores, other_scores])),
        train_seconds=round(seconds, 2),
        digits=inputs.digits,
        nondigits=inputs.nondigits,
    )
    write_json_atomic(gate_settings_path(model_path), plain(result))
    # Each part of the score alone, for comparison: the gate, and the model's own doubt.
    curves = {
        "gate + doubt (used)": roc_curve(truth, np.r_[digit_scores, other_scores])[:2],
        "gate alone": roc_curve(truth, np.concatenate(gate_parts))[:2],
        "doubt alone (1 - confidence)": roc_curve(truth, 1 - np.concatenate(confidences))[:2],
    }
    marks = {"threshold": (result.digits_rejected, result.nondigits_rejected)}
    save_figures(run.run_dir, {"rejection_roc": confidence_figures.rejection_roc(curves, marks)})
    write_json_atomic(run.run_dir / "rejection.json", plain(result))
    return result


def reviewed_examples() -> tuple[np.ndarray, np.ndarray]:
    """The feedback store's latest labels as (digits, non-digits), each (n, 28, 28) uint8:
    what people marked "not a digit" (on the page or in review) trains the gate as one."""
    rows, _ = checked_rows(feedback.latest_labels())  # a row that fails its checks is not used
    images = [png_pixels(row.image_png) for row in rows]
    empty = np.zeros((0, *IMAGE_SHAPE[:2]), np.uint8)
    pick = [row.label == feedback.NOT_A_DIGIT for row in rows]
    nondigits = [image for image, no in zip(images, pick, strict=True) if no]
    digits = [image for image, no in zip(images, pick, strict=True) if not no]
    return (np.stack(digits) if digits else empty), (np.stack(nondigits) if nondigits else empty)


def top_probability(model_path: str, images: np.ndarray) -> np.ndarray:
    """The digit model's calibrated confidence (N,) in its answer."""
    return probabilities(model_path, images).max(1)


def export_gate(gate, model_path: str, check_images: np.ndarray) -> None:
    """model.gate.tflite, refused unless it scores like the Keras gate."""
    target = gate_path(model_path)
    write_with(target, lambda tmp: gate.export(str(tmp), format="litert", verbose=False))
    exported = litert_predictor(target)(model_input(check_images))[:, 0]
    gap = float(np.abs(exported - gate_scores(gate, check_images)).max())
    if gap > EXPORT_TOLERANCE:
        target.unlink(missing_ok=True)
        raise ValueError(f"{target}: LiteRT gate scores differ from Keras by {gap:.2e}")
