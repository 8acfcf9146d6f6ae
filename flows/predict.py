"""The `predict` flow: image files, folders, Kaggle CSV rows or inline images -> digit, name,
confidence."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from digitrec.inference.inputs import allowed_roots
from digitrec.inference.runtimes import AUTO, RuntimeChoice
from digitrec.pipeline.predict import PredictionBatch
from tasks.predict import predict_digits, resolve_model_path


class AllInputsFailed(RuntimeError):
    """Every input of a predict run was unusable: the run ends Failed with every reason."""


@flow(name="predict", log_prints=True, flow_run_name="predict-{model}")
def predict(
    inputs: Annotated[list[str], Field(min_length=1)],
    model: str = "champion",
    top_k: Annotated[int, Field(ge=1, le=10)] = 3,
    save_preprocessed: bool = False,
    runtime: RuntimeChoice = AUTO,
    log: bool = True,
) -> PredictionBatch:
    """Predict digits; a bad input is reported with its reason while the others are predicted.

    Args:
        inputs: Image files (PNG, JPEG, BMP, TIFF, WebP), folders of them, Kaggle-format CSV
            files (with or without a label column), or inline images as data URIs
            (data:image/png;base64,...). Files are read only under samples/,
            $DIGITREC_HOME/inbox/ and the folders in $DIGITREC_INPUT_ROOTS.
        model: 'champion', a model version number, a training run id (run folder or MLflow
            run), or a path to a .keras model.
        top_k: How many ranked digits to return per input.
        save_preprocessed: Also save the 28x28 image the model saw for each image file.
        runtime: How to run the model (see digitrec.inference.runtimes; auto picks the float
            LiteRT export when it is current, else Keras).
        log: Append the predictions to the prediction log under $DIGITREC_HOME/log (a Kaggle
            CSV as one summary record), where review and monitoring read them.
    """
    model_path = resolve_model_path(model)
    # Callers may be remote: read files only under the allowed roots, never anywhere else.
    batch = predict_digits(
        model_path, inputs, top_k, save_preprocessed, runtime, allowed_roots(), log
    )
    if batch.failed == len(batch.predictions):
        reasons = "; ".join(p.error for p in batch.predictions)
        raise AllInputsFailed(f"every input failed: {reasons}")
    return batch
