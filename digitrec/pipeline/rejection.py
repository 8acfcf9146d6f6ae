"""Rejection step: train the "not a digit" gate on the run's training digits and synthetic
non-digits, set its threshold on the validation digits, measure it on held-out non-digits,
and export it to LiteRT beside model.keras (`model.gate.tflite`, `model.gate.json`)."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE
from digitrec.data import nondigits as nondigits_module
from digitrec.data import photos as photos_module
from digitrec.data.nondigits import draw_nondigits, redraw
from digitrec.data.photos import photo_like
from digitrec.evaluation import confidence_figures
from digitrec.inference import preprocess as preprocess_module
from digitrec.inference.files import ImageError
from digitrec.inference.preprocess import to_mnist
from digitrec.inference.rejection import combined_score, gate_path, gate_settings_path
from digitrec.inference.runtimes import litert_predictor
from digitrec.loop import feedback
from digitrec.loop.store import png_pixels
from digitrec.modeling.rejection import gate_scores, threshold_for, train_gate
from digitrec.pipeline.data import save_figures
from digitrec.pipeline.feedback import checked_rows
from digitrec.pipeline.records import GateInputs, Rejection, RunContext, plain
from digitrec.pipeline.run import load_split, probabilities
from digitrec.storage import cache_dir, write_json_atomic, write_with

GATE_DIGITS = 20_000  # training digits the gate sees (at most) and as many non-digits
REDRAWN = 0.25  # share of each class drawn on the non-digits' canvas
PHOTOGRAPHED = 0.25  # share of each class rendered as phone photos and read back
HELD_OUT_NONDIGITS = 2_000
HELD_OUT_SEED_OFFSET = 1_000_003  # held-out non-digits never share a seed with training ones
EXPORT_TOLERANCE = 1e-3  # LiteRT gate scores may differ from Keras' by float rounding only
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
        np.r_[digits, reviewed_digits], np.r_[nondigits, reviewed_nondigits], held_out
    )


def render_in_child(run: RunContext) -> None:
    """Fill the render cache for `run` from a fresh Python process (`render_child`)."""
    command = [sys.executable, "-m", "digitrec.pipeline.render_child"]
    done = subprocess.run(command, input=pickle.dumps(run), capture_output=True, check=False)
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"rendering the gate's inputs failed (exit {done.returncode}):\n{error}")


@contextmanager
def one_opencv_thread() -> Iterator[None]:
    """OpenCV on one thread meanwhile: on these small images its worker threads took 20% more
    CPU for the same wall time (bench/RESULTS.md), CPU the training beside it needs."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


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


def mnist_style(canvases: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Canvases (N, H, W) through `to_mnist` (N, 28, 28); a canvas whose ink vanished keeps its
    `fallback` image, else is dropped."""
    out = []
    for i, canvas in enumerate(canvases):
        try:
            out.append(to_mnist(canvas))
        except ImageError:
            if fallback is not None:
                out.append(fallback[i])
    return np.stack(out)


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


def photographed(images: np.ndarray, seed: int) -> np.ndarray:
    """Each 28x28 as a phone photo read back by `to_mnist`; photos that lost their ink drop out."""
    rng = np.random.default_rng(seed)
    out = []
    for image in images:
        try:
            out.append(to_mnist(photo_like(image, rng)))
        except ImageError:
            continue
    return np.stack(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)


def gate_digits(digits: np.ndarray, seed: int) -> np.ndarray:
    """Training digits as they are, redrawn on the canvas, and photographed (REDRAWN and
    PHOTOGRAPHED shares), so the gate meets digits made every way non-digits are."""
    n = len(digits)
    redrawn, photos = int(n * REDRAWN), int(n * PHOTOGRAPHED)
    keep = digits[: n - redrawn - photos]
    again = digits[len(keep) : len(keep) + redrawn]
    shot = photographed(digits[len(keep) + redrawn :], seed)
    return np.concatenate([keep, mnist_style(redraw(again, seed), fallback=again), shot])


def training_nondigits(count: int, seed: int) -> np.ndarray:
    """The gate's non-digits, drawn and partly photographed; they depend only on the seed and
    the rendering code, so they are cached."""

    def draw() -> np.ndarray:
        photos = int(count * PHOTOGRAPHED)
        drawn = make_nondigits(count - photos, seed)
        return np.concatenate([drawn, photographed(make_nondigits(photos, seed + 1), seed)])

    return cached(f"nondigits-{seed}-{count}", draw)


RENDERING_CODE = (nondigits_module, photos_module, preprocess_module)


def rendering_version() -> str:
    """A hash of the code that draws, photographs and reads back the gate's inputs: a cached
    render is only reused while that code is unchanged."""
    digest = hashlib.sha256()
    for module in RENDERING_CODE:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def cached(name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
    """Images under DIGITREC_HOME/cache/gate/, keyed by `name` and the rendering code."""
    path = cache_dir() / "gate" / f"{name}-r{rendering_version()}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["images"]
    images = make()
    write_with(path, lambda tmp: np.savez(tmp, images=images))
    prune(path.parent, name.split("-")[0])
    return images


CACHED_PER_KIND = 4  # renders kept per kind: each distinct training set makes a new one


def prune(folder: Path, kind: str) -> None:
    """Delete all but the CACHED_PER_KIND newest renders of a kind (digits, nondigits, held)."""
    renders = sorted(folder.glob(f"{kind}-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in renders[CACHED_PER_KIND:]:
        old.unlink(missing_ok=True)


def make_nondigits(count: int, seed: int) -> np.ndarray:
    """`count` MNIST-style non-digits (count, 28, 28), as an input photo of one would look."""
    made = mnist_style(draw_nondigits(count, seed))
    while len(made) < count:  # a few drawings can leave the canvas: draw more
        seed += 7919
        made = np.concatenate([made, mnist_style(draw_nondigits(count - len(made), seed))])
    return made


def export_gate(gate, model_path: str, check_images: np.ndarray) -> None:
    """model.gate.tflite, refused unless it scores like the Keras gate."""
    target = gate_path(model_path)
    write_with(target, lambda tmp: gate.export(str(tmp), format="litert", verbose=False))
    exported = litert_predictor(target)(model_input(check_images))[:, 0]
    gap = float(np.abs(exported - gate_scores(gate, check_images)).max())
    if gap > EXPORT_TOLERANCE:
        target.unlink(missing_ok=True)
        raise ValueError(f"{target}: LiteRT gate scores differ from Keras by {gap:.2e}")
