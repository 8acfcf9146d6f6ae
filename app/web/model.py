"""The champion, loaded once and kept warm: its LiteRT predictor and "not a digit" gate, reloaded
when the registry file changes (checked at most once a second), so a newly promoted model serves
without a restart and no request pays for a load."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from digitrec import registry
from digitrec.arrays import model_input
from digitrec.inference.number_reader import LinePredictor, load_line_predictor
from digitrec.inference.numbers import read_written
from digitrec.inference.prediction import Prediction, digit_prediction, number_prediction
from digitrec.inference.rejection import Gate, load_gate, verdict
from digitrec.inference.runtimes import Predictor, load_predictor
from digitrec.registry import ModelRecord

CHECK_EVERY_S = 1.0
TOP_K = 3
MAX_SIDE = 1024  # photos are read at most this long a side: a digit needs far less, and it is fast


@dataclass(frozen=True)
class Loaded:
    """One model as served: its identity, predictor, gate and number reader (None for a model
    without one)."""

    run_id: str
    path: Path
    record: ModelRecord
    predictor: Predictor
    gate: Gate | None
    numbers: LinePredictor | None = None


@dataclass(frozen=True)
class Reading:
    """A prediction with what the model saw: images (k, 28, 28), per-piece top-k, gate scores."""

    prediction: Prediction
    images: np.ndarray
    pieces: list[Prediction]
    scores: list[float] | None
    model: Loaded


class Champion:
    """The served model, reloaded on a registry change; `ref` may pin a run id or .keras path."""

    def __init__(self, ref: str = "champion"):
        self.ref = ref
        self.loaded: Loaded | None = None
        self.stamp: float | None = None
        self.checked = 0.0
        self.load_lock = threading.Lock()
        self.run_lock = threading.Lock()  # one LiteRT interpreter: one invocation at a time

    def current(self) -> Loaded:
        """The model to use now; raises FileNotFoundError before any champion exists."""
        now = time.monotonic()
        fresh = self.ref != "champion" or now - self.checked < CHECK_EVERY_S
        if self.loaded is not None and fresh:
            return self.loaded
        with self.load_lock:
            self.checked = now
            stamp = registry_stamp()
            if self.loaded is None or stamp != self.stamp:
                self.loaded, self.stamp = load(self.ref), stamp
        return self.loaded

    def read(self, gray: np.ndarray, name: str, top_k: int = TOP_K) -> Reading:
        """Predict one drawing or photo: a digit, or a number when it splits into several."""
        model = self.current()
        gray = shrink(gray)  # (H, W), longer side <= MAX_SIDE
        with self.run_lock:
            found = read_written(gray, model.predictor, model.numbers)
            images = np.stack(found.images)  # (k, 28, 28)
            probabilities = found.probabilities  # (k, 10) when the number reader read them
            if probabilities is None:
                probabilities = model.predictor(model_input(images))
            gate = model.gate
            scores = None if gate is None else gate.score(images, probabilities.max(1))  # (k,)
        per_piece = [digit_prediction(name, row, top_k) for row in probabilities]
        prediction = number_prediction(name, probabilities) if len(images) > 1 else per_piece[0]
        if scores is not None:
            rejected, reason = verdict(scores, model.gate.threshold, is_row=False)
            prediction = replace(prediction, rejected=rejected, reason=reason)
        listed = None if scores is None else [float(s) for s in scores]
        return Reading(prediction, images, per_piece, listed, model)


def shrink(gray: np.ndarray) -> np.ndarray:
    """A large photo scaled down (area averaging) so its longer side is MAX_SIDE."""
    scale = MAX_SIDE / max(gray.shape)
    if scale >= 1:
        return gray
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def registry_stamp() -> float | None:
    """The registry file's modification time (None while it does not exist)."""
    try:
        return registry.registry_path().stat().st_mtime
    except FileNotFoundError:
        return None


def load(ref: str) -> Loaded:
    """Resolve and load a model with its gate, on LiteRT when its export is current."""
    record = registry.champion() if ref == "champion" else None
    if ref == "champion" and record is None:
        raise FileNotFoundError("no champion model yet: run the training flow first (make run)")
    path = Path(record.model_path) if record else registry.resolve_model(ref)
    record = record or ModelRecord(run_id=path.parent.name, model_path=str(path))
    predictor, _ = load_predictor(path)
    return Loaded(
        record.run_id, path, record, predictor, load_gate(path), load_line_predictor(path)
    )
