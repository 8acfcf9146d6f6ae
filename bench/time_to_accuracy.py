"""Time to accuracy: our training recipes against a plain Keras 3 notebook as Kaggle kernels
write it (Deotte's CNN, Keras preprocessing layers for rotation 10 / zoom 0.1 / shift 0.1, Adam
1e-3 * 0.95^epoch, batch 64), on the same 90/10 split of the embedded train.csv, in one process.
Reports the wall time at which validation accuracy first reaches 99.0/99.3/99.5/99.6% and the
final hidden-test accuracy.

    .venv/bin/python bench/time_to_accuracy.py [--notebook-epochs 20] [--recipes notebook,fast]
"""

from __future__ import annotations

import argparse
import json
import time

from digitrec.data.embedded import ensure_embedded_data
from digitrec.data.kaggle import load_answers, load_csv
from digitrec.data.split import stratified_split
from digitrec.modeling.profiles import PROFILES, augmented_config
from digitrec.modeling.training import fit, predict_proba
from digitrec.storage import write_with

THRESHOLDS = (0.990, 0.993, 0.995, 0.996)


class Clock:
    """Elapsed training time and the first time each validation threshold was reached."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.curve: list[tuple[float, float]] = []

    def record(self, val_accuracy: float) -> None:
        self.curve.append((time.perf_counter() - self.started, val_accuracy))
        print(f"  {self.curve[-1][0]:7.1f}s  val_accuracy {val_accuracy:.4f}", flush=True)

    def reached(self) -> dict[str, float | None]:
        return {
            f"{t:.1%}": next((round(s, 1) for s, a in self.curve if a >= t), None)
            for t in THRESHOLDS
        }


def notebook_model():
    """Deotte's Kaggle CNN exactly as notebooks write it (Keras defaults, Sequential)."""
    import keras
    from keras import layers

    def block(filters, kernel, strides=1, padding="valid"):
        return [
            layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu"),
            layers.BatchNormalization(),
        ]

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.RandomRotation(10 / 360),
            layers.RandomZoom(0.1),
            layers.RandomTranslation(0.1, 0.1),
            layers.Rescaling(1 / 255),
            *block(32, 3),
            *block(32, 3),
            *block(32, 5, 2, "same"),
            layers.Dropout(0.4),
            *block(64, 3),
            *block(64, 3),
            *block(64, 5, 2, "same"),
            layers.Dropout(0.4),
            *block(128, 4),
            layers.Flatten(),
            layers.Dropout(0.4),
            layers.Dense(10, activation="softmax"),
        ]
    )


def run_notebook(train, val, epochs: int, clock: Clock):
    import keras

    model = notebook_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 0.95**epoch),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: clock.record(logs["val_accuracy"])
        ),
    ]
    x, y = train[0][..., None].astype("float32"), train[1]
    model.fit(
        x,
        y,
        batch_size=64,
        epochs=epochs,
        validation_data=(val[0][..., None].astype("float32"), val[1]),
        callbacks=callbacks,
        verbose=0,
    )
    return model


def run_profile(name: str, train, val, clock: Clock, tmp: str):
    """A profile's recipe: its first candidate on the short plain budget, then augmented."""
    profile = PROFILES[name]
    plain_config = profile.candidates[-1]
    on_epoch = lambda e, n, logs, s: clock.record(logs["val_accuracy"])  # noqa: E731
    plain = fit(plain_config, train, val, on_epoch=on_epoch)
    start = write_with(f"{tmp}/{name}-plain.keras", plain.model.save)
    final = fit(
        augmented_config(profile, plain_config, seed=0, batch_size=None),
        train,
        val,
        initial_model_path=start,
        on_epoch=on_epoch,
    )
    return final.model


def load_benchmark_split():
    """(train, validation, hidden-test images, hidden-test labels): a seed-0 90/10 split."""
    info = ensure_embedded_data()
    data = load_csv(info.train_csv, kind="train")
    train_idx, val_idx = stratified_split(data.labels, 0.1, seed=0)
    train = (data.images[train_idx], data.labels[train_idx])
    val = (data.images[val_idx], data.labels[val_idx])
    test = load_csv(info.test_csv, kind="test").images
    return train, val, test, load_answers(info.test_labels_csv)


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebook-epochs", type=int, default=20)
    parser.add_argument("--recipes", default="notebook,fast", help="notebook, fast, standard")
    args = parser.parse_args()
    train, val, test, answers = load_benchmark_split()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in args.recipes.split(","):
            print(f"== {recipe}", flush=True)
            clock = Clock()
            if recipe == "notebook":
                model = run_notebook(train, val, args.notebook_epochs, clock)
            else:
                model = run_profile(recipe, train, val, clock, tmp)
            hidden = float((predict_proba(model, test).argmax(1) == answers).mean())
            results[recipe] = {
                "train_seconds": round(clock.curve[-1][0], 1),
                "final_val_accuracy": clock.curve[-1][1],
                "hidden_test_accuracy": hidden,
                "reached": clock.reached(),
            }
            print(json.dumps(results[recipe]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
