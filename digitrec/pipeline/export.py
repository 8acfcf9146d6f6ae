"""Export step: the run's model.keras and every runtime export that predicts like it."""

from __future__ import annotations

import shutil

from digitrec.inference.runtimes import RUNTIMES, keras_digits
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
    exported = {
        name: runtime.export(model, model_path, x_val, expected, train.images[train_idx])
        for name, runtime in RUNTIMES.items()
        if runtime.export is not None
    }
    summary = ModelExport(
        model_path=str(model_path),
        litert_path=str(exported["litert"].path) if exported["litert"].path else None,
        int8_path=str(exported["int8"].path) if exported["int8"].path else None,
        int8_agreement=round(exported["int8"].agreement, 6),
    )
    write_json_atomic(run.run_dir / "export.json", plain(summary))
    return summary
