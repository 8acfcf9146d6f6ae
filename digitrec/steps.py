"""The training flow's steps as plain functions over files: each Prefect task calls one.
Steps read their inputs from paths and write into the run folder, so they pass only paths
and small dicts between them (cheap for Prefect to hash and store)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from digitrec import evaluation, visualization
from digitrec.data import Digits, load_answers, load_csv
from digitrec.storage import runs_dir, write_bytes_atomic, write_json_atomic, write_with
from digitrec.training import EpochCallback, TrainConfig, fit, predict_proba, stratified_split


def probabilities(model_path: str | Path, images: np.ndarray) -> np.ndarray:
    """(N, 10) probabilities from a saved model, through its LiteRT export when there is one."""
    from digitrec.runtime import load_predictor

    predictor, _ = load_predictor(model_path)
    return predictor(images.reshape(-1, 28, 28, 1).astype(np.float32))


def new_run_dir(profile: str) -> Path:
    """A fresh run folder named by UTC time, profile and a random suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir() / f"{stamp}-{profile}-{secrets.token_hex(2)}"
    (run_dir / "figures").mkdir(parents=True)
    return run_dir


def prepare_data(data_dir: str | None) -> dict:
    """Paths of train.csv, test.csv and (when present) the held-back answers."""
    from digitrec.dataset import ensure_embedded_data

    if data_dir is None:
        info = ensure_embedded_data()
        folder = Path(info.data_dir)
    else:
        folder = Path(data_dir).expanduser().resolve()
        for name in ("train.csv", "test.csv"):
            if not (folder / name).is_file():
                raise FileNotFoundError(
                    f"{folder / name}: not found (a Kaggle folder needs {name})"
                )
    answers = folder / "test_labels.csv"
    return {
        "data_dir": str(folder),
        "train_csv": str(folder / "train.csv"),
        "test_csv": str(folder / "test.csv"),
        "answers_csv": str(answers) if answers.is_file() else None,
    }


def validate_data(train_csv: str, test_csv: str, run_dir: Path) -> dict:
    """Run the Great Expectations suite; store its results; raise when any check failed."""
    from digitrec.validation import require_valid, validate_dataset

    report = validate_dataset(train_csv, test_csv)
    write_json_atomic(run_dir / "validation.json", report.to_dict())
    write_bytes_atomic(run_dir / "validation.md", report.to_markdown().encode())
    require_valid(report)
    return {
        "checks": len(report.checks),
        "seconds": report.seconds,
        "markdown": report.to_markdown(),
    }


def visualize_data(train_csv: str, run_dir: Path) -> dict[str, str]:
    """Data figures: samples per digit, class balance, mean digits, pixel intensities."""
    train = load_csv(train_csv, kind="train")
    figures = {
        "samples": visualization.sample_grid(train.images, train.labels),
        "class_balance": visualization.class_balance(train.labels),
        "mean_images": visualization.mean_images(train.images, train.labels),
        "pixel_histogram": visualization.pixel_histogram(train.images),
    }
    return save_figures(run_dir, figures)


def save_figures(run_dir: Path, figures: dict[str, bytes]) -> dict[str, str]:
    return {
        name: str(write_bytes_atomic(run_dir / "figures" / f"{name}.png", png))
        for name, png in figures.items()
    }


def split_data(train_csv: str, fraction: float, seed: int, run_dir: Path) -> str:
    """Stratified train/validation indices, stored so every step uses the same split."""
    labels = load_csv(train_csv, kind="train").labels
    train_idx, val_idx = stratified_split(labels, fraction, seed)
    path = run_dir / "split.npz"
    write_with(path, lambda tmp: np.savez(tmp, train=train_idx, validation=val_idx))
    return str(path)


def load_split(train_csv: str, split_path: str) -> tuple[Digits, np.ndarray, np.ndarray]:
    train = load_csv(train_csv, kind="train")
    with np.load(split_path) as split:
        return train, split["train"], split["validation"]


def train_stage(
    stage: str,
    config: TrainConfig,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    initial_model: str | None = None,
    on_epoch: EpochCallback | None = None,
    extra: dict | None = None,
) -> dict:
    """Train one model, save it as `models/<stage>.keras`, and score it on the validation split;
    `extra` fields (e.g. which worker trained it) go into the stage's record too."""
    train, train_idx, val_idx = load_split(train_csv, split_path)
    x_val, y_val = train.images[val_idx], train.labels[val_idx]
    result = fit(
        config,
        (train.images[train_idx], train.labels[train_idx]),
        (x_val, y_val),
        initial_model_path=initial_model,
        on_epoch=on_epoch,
    )
    model_path = write_with(run_dir / "models" / f"{stage}.keras", result.model.save)
    summary = {
        "stage": stage,
        "architecture": config.architecture,
        "config": config.to_dict(),
        "model_path": str(model_path),
        "parameters": int(result.model.count_params()),
        "train_seconds": round(result.seconds, 2),
        "images_per_second": round(result.images_per_second, 1),
        # fit scored the final weights on the validation split after the last epoch; the
        # float32 mean is rounded back to the exact share of correct digits.
        "val_accuracy": round(result.history["val_accuracy"][-1] * len(y_val)) / len(y_val),
        "history": result.history,
    } | (extra or {})
    write_json_atomic(run_dir / "stages" / f"{stage}.json", summary)
    return summary


def ranked(summaries: list[dict]) -> list[int]:
    """Positions of the stages, best validation accuracy first (ties: the earliest first)."""
    return sorted(range(len(summaries)), key=lambda i: -summaries[i]["val_accuracy"])


def evaluate_model(
    model_path: str,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    stages: list[dict],
    seed: int,
    bootstrap_resamples: int = 1000,
) -> dict:
    """Accuracy estimates, confusion matrix, per-digit report, mistakes and comparison figures."""
    train, _, val_idx = load_split(train_csv, split_path)
    x_val, y_val = train.images[val_idx], train.labels[val_idx]
    probs = probabilities(model_path, x_val)  # (N_val, 10)
    y_pred = probs.argmax(1)
    cm = evaluation.confusion(y_val, y_pred)
    wrong = evaluation.misclassified_indices(y_val, probs)
    metrics = {
        "holdout": evaluation.accuracy_summary(y_val, probs, seed=seed),
        "confusion_matrix": cm.tolist(),
        "classification_report": evaluation.classification_table(y_val, y_pred),
        "most_confused": evaluation.most_confused_pairs(cm),
        "comparison": [
            {
                "model": s["stage"],
                "architecture": s["architecture"],
                "parameters": s["parameters"],
                "epochs": s["config"]["epochs"],
                "augmented": s["config"]["augmentation"] is not None,
                "train_seconds": s["train_seconds"],
                "val_accuracy": s["val_accuracy"],
            }
            for s in stages
        ],
    }
    lo, hi = evaluation.bootstrap_interval(
        y_val, y_pred, n_resamples=bootstrap_resamples, seed=seed
    )
    metrics["holdout"].update(bootstrap_low=lo, bootstrap_high=hi)
    save_figures(
        run_dir,
        {
            "confusion_matrix": visualization.confusion_figure(cm),
            "misclassified": visualization.misclassified_gallery(
                x_val[wrong], y_val[wrong], y_pred[wrong], probs[wrong, y_pred[wrong]]
            ),
            "training_curves": visualization.training_curves(
                {s["stage"]: s["history"] for s in stages}
            ),
            "model_comparison": visualization.model_comparison(metrics["comparison"]),
        },
    )
    write_json_atomic(run_dir / "evaluation.json", metrics)
    return metrics


def cross_validate(
    config: TrainConfig,
    train_csv: str,
    folds: int,
    seed: int,
    run_dir: Path,
    on_epoch: EpochCallback | None = None,
) -> dict:
    """Stratified k-fold accuracy of a training recipe on the whole train set."""
    train = load_csv(train_csv, kind="train")
    accuracies = []
    for fold, (train_idx, val_idx) in enumerate(
        evaluation.stratified_folds(train.labels, folds, seed)
    ):
        result = fit(config, (train.images[train_idx], train.labels[train_idx]), on_epoch=on_epoch)
        probs = predict_proba(result.model, train.images[val_idx])
        accuracies.append(float((probs.argmax(1) == train.labels[val_idx]).mean()))
        print(f"fold {fold + 1}/{folds}: accuracy {accuracies[-1]:.4%}")
    summary = evaluation.cv_summary(accuracies) | {
        "fold_accuracies": accuracies,
        "recipe": config.to_dict(),
    }
    write_json_atomic(run_dir / "cross_validation.json", summary)
    return summary


def make_submission(model_path: str, test_csv: str, answers_csv: str | None, run_dir: Path) -> dict:
    """Predict the test set, write and verify submission.csv, score it when answers exist."""
    from digitrec.submission import score_submission, verify_submission, write_submission

    test = load_csv(test_csv, kind="test")
    started = time.perf_counter()
    labels = probabilities(model_path, test.images).argmax(1)
    seconds = time.perf_counter() - started
    path = run_dir / "submission.csv"
    write_submission(labels, path)
    verify_submission(path, expected_rows=len(test))
    answers = load_answers(answers_csv) if answers_csv else None
    return {
        "path": str(path),
        "rows": len(test),
        "predict_images_per_second": round(len(test) / seconds, 1),
        "hidden_test_accuracy": score_submission(path, answers) if answers is not None else None,
    }


def champion_accuracy_on(train_csv: str, split_path: str) -> tuple[str | None, float | None]:
    """The current champion's accuracy on this run's validation split (None without one)."""
    from digitrec.registry import champion

    record = champion()
    if record is None or not Path(record["model_path"]).is_file():
        return None, None
    train, _, val_idx = load_split(train_csv, split_path)
    probs = probabilities(record["model_path"], train.images[val_idx])
    return record["run_id"], float((probs.argmax(1) == train.labels[val_idx]).mean())


def export_model(final_stage: dict, train_csv: str, split_path: str, run_dir: Path) -> dict:
    """The run's model.keras; model.tflite when LiteRT predicts the same validation digits;
    model.int8.tflite when the int8 export agrees closely enough (runtime.INT8_MIN_AGREEMENT)."""
    import shutil

    import keras

    from digitrec.runtime import export_int8, export_litert, keras_digits

    model_path = write_with(
        run_dir / "model.keras", lambda tmp: shutil.copyfile(final_stage["model_path"], tmp)
    )
    train, train_idx, val_idx = load_split(train_csv, split_path)
    model = keras.saving.load_model(model_path)
    x_val = train.images[val_idx]
    expected = keras_digits(model, x_val)  # (N_val,), what both exports must reproduce
    exported = export_litert(model, model_path, x_val, expected)
    int8, agreement = export_int8(model, model_path, x_val, train.images[train_idx], expected)
    summary = {
        "model_path": str(model_path),
        "litert_path": str(exported) if exported else None,
        "int8_path": str(int8) if int8 else None,
        "int8_agreement": round(agreement, 6),
    }
    write_json_atomic(run_dir / "export.json", summary)
    return summary


def register_run(
    run_dir: Path,
    final_stage: dict,
    data: dict,
    metrics: dict,
    submission: dict,
    split_path: str,
    promote: bool,
    profile: str,
) -> dict:
    """Register the run's model, and promote it if it earns it."""
    from digitrec.data import file_fingerprint
    from digitrec.registry import decide_promotion, register

    model_path = run_dir / "model.keras"
    champion_id, champion_acc = champion_accuracy_on(data["train_csv"], split_path)
    accuracy = metrics["holdout"]["accuracy"]
    earned, reason = decide_promotion(accuracy, champion_acc)
    promoted = promote and earned
    if not promote:
        reason = "promotion disabled for this run (promote=false)"
    record = {
        "run_id": run_dir.name,
        "model_path": str(model_path),
        "profile": profile,
        "architecture": final_stage["architecture"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_fingerprint": {k: file_fingerprint(data[k]) for k in ("train_csv", "test_csv")},
        "val_accuracy": accuracy,
        "hidden_test_accuracy": submission["hidden_test_accuracy"],
        "previous_champion": champion_id,
        "previous_champion_val_accuracy": champion_acc,
    }
    register(record, promote=promoted)
    decision = {"promoted": promoted, "reason": reason} | record
    write_json_atomic(run_dir / "registration.json", decision)
    return decision


def write_run_summary(run_dir: Path, context: dict) -> dict:
    """metrics.json (the run's headline numbers) and history.json (every stage's epochs)."""
    write_json_atomic(
        run_dir / "history.json", {s["stage"]: s["history"] for s in context["stages"]}
    )
    evaluation_metrics, submission = context["evaluation"], context["submission"]
    metrics = {
        "run_id": run_dir.name,
        "profile": context["profile"],
        "holdout": evaluation_metrics["holdout"],
        "hidden_test_accuracy": submission["hidden_test_accuracy"],
        "cross_validation": context.get("cross_validation"),
        "models": evaluation_metrics["comparison"],
        "champion": context["registration"]["promoted"],
        "champion_reason": context["registration"]["reason"],
    }
    write_json_atomic(run_dir / "metrics.json", metrics)
    return metrics
