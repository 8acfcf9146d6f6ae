"""Export step: the run's model.keras and every runtime export that predicts like it."""

from __future__ import annotations

import shutil

from digitrec.arrays import model_input
from digitrec.inference.runtimes import (
    EXPORT_FILE,
    EXPORTED,
    RUNTIMES,
    export_runtime,
    keras_digits,
    litert_predictor,
)
from digitrec.pipeline.records import ModelExport, RunContext, StageResult, plain
from digitrec.pipeline.run import load_split
from digitrec.storage import write_json_atomic, write_with


def export_model(final: StageResult, run: RunContext) -> ModelExport:
    """model.keras, then each runtime's export, kept only when its validation digits agree with
    Keras as closely as that runtime demands (`digitrec.inference.runtimes`)."""
    import keras

    model_path = write_with(
        run.run_dir / "model.keras", lambda tmp: shutil.copyfile(final.model_path, tmp)
    )
    train, train_idx, val_idx = load_split(run)
    model = keras.saving.load_model(model_path)
    x_val = train.images[val_idx]
    expected = keras_digits(model, x_val)  # (N_val,), what every export must reproduce
    calibration = train.images[train_idx]  # int8 activation ranges come from training images
    exported = {
        name: export_runtime(RUNTIMES[name], model, model_path, x_val, expected, calibration)
        for name in EXPORTED
    }
    y_val = train.labels[val_idx]
    accuracies = {"keras": float((expected == y_val).mean())}
    for name, e in exported.items():
        if e.path is not None:
            digits = litert_predictor(e.path)(model_input(x_val)).argmax(1)  # (N_val,)
            accuracies[name] = float((digits == y_val).mean())
    summary = ModelExport(
        model_path=str(model_path),
        files={name: str(e.path) if e.path else None for name, e in exported.items()},
        agreements={name: round(e.agreement, 6) for name, e in exported.items()},
        accuracies={name: round(value, 6) for name, value in accuracies.items()},
        auto_runtime=auto_choice(accuracies),
    )
    write_json_atomic(run.run_dir / EXPORT_FILE, plain(summary))
    return summary


def auto_choice(accuracies: dict[str, float]) -> str | None:
    """int8 when it was kept and scores at least as well on validation as the float runtime
    `auto` would otherwise run (LiteRT float, else Keras): several times faster on CPU for no
    measured loss. None leaves `auto` to its default order."""
    if "int8" not in accuracies:
        return None
    floating = accuracies.get("litert", accuracies["keras"])
    return "int8" if accuracies["int8"] >= floating else None
