"""The `digitrec` command: prepare data, train, predict, label and count feedback."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from app import loop_cli
from digitrec.hardware import PRECISION_ENV, PRECISION_SETTINGS
from digitrec.inference.runtimes import AUTO, RUNTIME_CHOICES, runtimes_help
from digitrec.modeling.profiles import PROFILES, profiles_help

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

# Choices derived from the registries, so a new profile or runtime needs no change here.
Profile = Enum("Profile", {name: name for name in PROFILES}, type=str)
Runtime = Enum("Runtime", {name: name for name in RUNTIME_CHOICES}, type=str)
Precision = Enum("Precision", {name: name for name in PRECISION_SETTINGS}, type=str)


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show TensorFlow's and absl's native notices.")
    ] = False,
) -> None:
    """digitrec: train and serve a CNN digit classifier as Prefect flows."""
    if not verbose:
        from app.console import quiet_native_logs

        quiet_native_logs()


@app.command()
def data(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Prepare the embedded MNIST in Kaggle format (once) and summarise it."""
    from digitrec.data.embedded import ensure_embedded_data

    info = ensure_embedded_data()
    if as_json:
        typer.echo(json.dumps(info.to_dict()))
        return
    typer.echo(
        f"data folder   {info.data_dir} ({'built now' if info.rebuilt else 'already built'})"
    )
    typer.echo(f"train.csv     {info.train_rows:,} rows")
    typer.echo(f"test.csv      {info.test_rows:,} rows")
    typer.echo(f"answers       {info.test_labels_csv or '(none)'}")
    counts = "  ".join(f"{d}:{n}" for d, n in info.class_counts.items())
    typer.echo(f"class counts  {counts}")


@app.command()
def train(
    profile: Annotated[Profile, typer.Option(help=profiles_help())] = Profile["fast"],
    data_dir: Annotated[
        str | None, typer.Option(help="Kaggle folder with train.csv/test.csv (default: embedded).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs of the augmented retraining.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size of the retraining.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for split, init and augmentation.")] = 0,
    validation_fraction: Annotated[
        float | None, typer.Option(help="Share of train.csv held out for validation.")
    ] = None,
    cv_folds: Annotated[int | None, typer.Option(help="Cross-validation folds (0 = off).")] = None,
    promote: Annotated[bool, typer.Option(help="Promote to champion if it wins.")] = True,
    members: Annotated[
        int | None, typer.Option(help="Ensemble members to train and average (ensemble: 5).")
    ] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler for ensemble members, e.g. tcp://host:8786 "
            "(default: a local cluster).",
            envvar="DIGITREC_DASK_ADDRESS",
        ),
    ] = None,
    feedback: Annotated[
        bool | None,
        typer.Option(
            "--feedback/--no-feedback",
            help="Train on the feedback store's reviewed digits (default: when it has rows).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(help="Train even when data, feedback, code and settings are the champion's."),
    ] = False,
    precision: Annotated[
        Precision,
        typer.Option(
            help="What the models compute in: auto (bfloat16 only where the CPU computes it "
            f"natively, else float32; ${PRECISION_ENV} sets it), float32 or bfloat16.",
        ),
    ] = Precision["auto"],
) -> None:
    """Run the `train` flow (on the server in PREFECT_API_URL, else on a temporary one)."""
    from app.warmup import import_in_background, prefect_api, start_prefect_server

    server = start_prefect_server()  # its own process: it starts while we import
    preload = import_in_background()
    from flows.training import train as train_flow

    try:
        with prefect_api(server):
            result = train_flow(
                data_dir=data_dir,
                profile=profile.value,
                epochs=epochs,
                batch_size=batch_size,
                seed=seed,
                validation_fraction=validation_fraction,
                cv_folds=cv_folds,
                promote=promote,
                members=members,
                dask_address=dask_address,
                feedback=feedback,
                force=force,
                precision=precision.value,
            )
    finally:
        preload.join()  # never exit half-way through an import
    hidden = result.hidden_test_accuracy
    typer.echo("")
    if result.skipped:
        typer.echo("nothing new to learn: the champion's run is shown (--force trains anyway)")
    typer.echo(f"run folder           {result.run_dir}")
    typer.echo(f"report               {result.report}")
    typer.echo(f"model                {result.model}")
    typer.echo(f"submission           {result.submission}")
    typer.echo(f"validation accuracy  {result.val_accuracy:.4%}")
    typer.echo(f"hidden-test accuracy {'n/a (no answers)' if hidden is None else f'{hidden:.4%}'}")
    typer.echo(
        f"champion             {'yes' if result.champion else 'no'} ({result.champion_reason})"
    )


@app.command()
def predict(
    paths: Annotated[list[str], typer.Argument(help="Images, folders of images, or Kaggle CSVs.")],
    model: Annotated[
        str, typer.Option(help="'champion', a model version, a run id or a .keras path.")
    ] = "champion",
    top_k: Annotated[int, typer.Option(help="Ranked digits to show per input.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input.")] = False,
    save_preprocessed: Annotated[
        str | None, typer.Option(help="Folder for the 28x28 images the model saw.")
    ] = None,
    runtime: Annotated[Runtime, typer.Option(help=runtimes_help())] = Runtime[AUTO],
    log_predictions: Annotated[
        bool, typer.Option("--log/--no-log", help="Append to the prediction log.")
    ] = True,
) -> None:
    """Read digits from images or CSV rows; exit 1 when no input could be predicted."""
    from digitrec.pipeline.predict import predict_and_log
    from digitrec.registry import resolve_model

    try:
        predictions = predict_and_log(
            resolve_model(model),
            paths,
            "cli",
            log_predictions,
            top_k=top_k,
            save_preprocessed_to=save_preprocessed,
            runtime=runtime.value,
        )
    except (FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    for p in predictions:
        typer.echo(json.dumps(p.to_dict()) if as_json else describe(p))
    if all(p.error for p in predictions):
        raise typer.Exit(1)


loop_cli.register(app)  # `label` and `feedback`: the loop's commands, in their own module

registry_app = typer.Typer(no_args_is_help=True, help="The MLflow model registry and its cache.")
app.add_typer(registry_app, name="registry")


@registry_app.command("sync")
def registry_sync() -> None:
    """Re-read the champion alias from MLflow and refresh the local verified cache (after
    another machine promoted a model, or when a cached file is missing or corrupt)."""
    from digitrec.registry import sync

    record = sync()
    if record is None:
        typer.echo("no champion in MLflow yet: run the training flow first (make run)")
        raise typer.Exit(1)
    typer.echo(f"champion: version {record.version} (run {record.run_id})")
    typer.echo(f"model    {record.model_path}")


@registry_app.command("list")
def registry_list() -> None:
    """Every version of the registered model `digitrec`, oldest first."""
    from digitrec.registry import champion, versions

    current = champion()
    for v in versions():
        mark = "*" if current and current.version == v.version else " "
        hidden, val = v.hidden_test_accuracy, v.val_accuracy
        typer.echo(
            f"{mark} v{v.version:<4} {v.run_id or '?':<32}"
            f" val {'n/a' if val is None else f'{val:.4%}'}"
            f"  hidden {'n/a' if hidden is None else f'{hidden:.4%}'}  {v.decision or ''}"
        )


def describe(p) -> str:
    """One readable line per input."""
    if p.error:
        return f"{p.input}: error: {p.error}"
    if p.rejected:
        return f"{p.input}: {p.reason}"
    flag = "  (low confidence)" if p.low_confidence else ""
    if p.digits is not None:
        per_digit = " ".join(f"{c:.2f}" for c in p.digit_confidences)
        return f"{p.input}: {p.digits}  confidence {p.confidence:.3f} [{per_digit}]{flag}"
    top = "  ".join(f"{t['digit']}:{t['probability']:.3f}" for t in p.top_k)
    return f"{p.input}: {p.digit} ({p.name})  confidence {p.confidence:.3f}  top: {top}{flag}"


@app.command("app")
def serve_app(
    host: Annotated[
        str, typer.Option(help="Address to bind; the default keeps the page on this machine.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port of the page.")] = 8000,
    model: Annotated[
        str, typer.Option(help="'champion' (follows promotions), a run id or a .keras path.")
    ] = "champion",
) -> None:
    """Serve the draw-a-digit page (set DIGITREC_APP_AUTH=user:password for basic auth)."""
    import uvicorn

    from app.web import create_app

    typer.echo(f"draw a digit at http://{host}:{port}  (Ctrl-C stops)")
    uvicorn.run(create_app(model), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    app()
