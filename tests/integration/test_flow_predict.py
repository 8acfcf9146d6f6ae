"""The `predict` flow end to end with a real trained model, under a Prefect test harness."""

import cv2
import numpy as np
import pandas as pd
import pytest

from digitrec import registry
from tests.integration.test_flow_train import read_artifact

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def home(tmp_path, tmp_path_factory, monkeypatch, strong_model_path):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    # The flow reads only under allowed roots: the tests' temp folders are one here.
    monkeypatch.setenv("DIGITREC_INPUT_ROOTS", str(tmp_path_factory.getbasetemp()))
    registry.register(
        registry.ModelRecord(run_id="strong", model_path=str(strong_model_path)), promote=True
    )
    return tmp_path / "home"


def paper_digit(image: np.ndarray, path) -> str:
    """A real MNIST digit as dark ink on light paper, 6x larger, off-centre."""
    big = cv2.resize(255 - image, (168, 168), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((300, 260), 255, np.uint8)
    canvas[40:208, 70:238] = big
    cv2.imwrite(str(path), canvas)
    return str(path)


def test_predict_images_csv_and_bad_inputs(
    prefect_harness, home, tmp_path, mnist_arrays, small_kaggle_dir
):
    from flows.predict import predict

    images, labels = mnist_arrays
    good = [paper_digit(images[60000 + i], tmp_path / f"d{i}.png") for i in range(6)]
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    inputs = [
        *good,
        str(tmp_path / "empty.png"),
        str(tmp_path / "text.png"),
        str(tmp_path / "missing.jpg"),
        str(small_kaggle_dir / "test.csv"),
    ]
    result = predict(inputs=inputs, top_k=2)
    by_input = {p.input: p for p in result.predictions}
    assert len(result.predictions) == 6 + 3 + 200 and result.failed == 3
    read = [by_input[g].digit for g in good]
    assert sum(r == int(y) for r, y in zip(read, labels[60000:60006], strict=True)) >= 5
    first = by_input[good[0]]
    assert (
        first.name
        in ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
        and 0 < first.confidence <= 1
    )
    assert len(first.top_k) == 2
    assert "empty" in by_input[str(tmp_path / "empty.png")].error
    assert "not found" in by_input[str(tmp_path / "missing.jpg")].error
    assert by_input[str(tmp_path / "text.png")].error
    rows = pd.read_csv(result.csv)
    assert len(rows) == 209 and list(rows.columns)[:3] == ["input", "digit", "name"]
    artifact = read_artifact("predictions")
    assert artifact is not None and "d0.png" in str(artifact.data)


def test_every_input_failing_fails_the_run(prefect_harness, home, tmp_path):
    from prefect.states import State

    from flows.predict import predict

    (tmp_path / "blank.png").write_bytes(cv2.imencode(".png", np.full((64, 64), 255, np.uint8))[1])
    state = predict(
        inputs=[str(tmp_path / "nope.png"), str(tmp_path / "blank.png")], return_state=True
    )
    assert isinstance(state, State) and state.is_failed()
    assert "every input failed" in state.message or "every input failed" in str(
        state.result(raise_on_failure=False)
    )


def test_unknown_model_is_a_clear_error(prefect_harness, home, tmp_path):
    from flows.predict import predict

    with pytest.raises(FileNotFoundError, match="'no-such-run' is neither"):
        predict(inputs=["x.png"], model="no-such-run")


def test_int8_runtime_on_request(prefect_harness, home, tmp_path, mnist_arrays, small_kaggle_dir):
    import keras

    from digitrec.inference import runtimes
    from flows.predict import predict

    # Without an int8 export the run fails and says why.
    with pytest.raises(FileNotFoundError, match="no current int8 export"):
        predict(inputs=[str(small_kaggle_dir / "test.csv")], runtime="int8")

    # With one (as training writes it), the CSV rows are read through it.
    images, _ = mnist_arrays
    champion = registry.resolve_model("champion")
    model = keras.saving.load_model(champion)
    int8 = runtimes.export_runtime(
        runtimes.RUNTIMES["int8"],
        model,
        tmp_path / "model.keras",
        images[60_000:60_500],
        calibration=images[:300],
    )
    exported = int8.path
    assert exported is not None, f"int8 agreement {int8.agreement:.4f} below the gate"
    local = tmp_path / "model.keras"
    local.write_bytes(champion.read_bytes())
    exported.touch()  # not older than the model it belongs to
    float_result = predict(inputs=[str(small_kaggle_dir / "test.csv")], model=str(local))
    result = predict(inputs=[str(small_kaggle_dir / "test.csv")], model=str(local), runtime="int8")
    digits = [p.digit for p in result.predictions]
    float_digits = [p.digit for p in float_result.predictions]
    assert len(digits) == 200 and None not in digits
    assert np.mean(np.equal(digits, float_digits)) >= 0.98
    assert "runtime int8" in str(read_artifact("predictions").description)


def test_the_flow_logs_its_predictions_unless_told_not_to(prefect_harness, home, tmp_path):
    from digitrec.loop import log
    from flows.predict import predict

    seven = "samples/seven.png"
    predict(inputs=[seven])
    predict(inputs=[seven], log=False)
    records = log.read()
    assert [(r.source, r.input, r.digit) for r in records] == [("flow", "seven.png", 7)]
    assert log.seen_images(records[0])[0].shape == (28, 28)


def test_an_unwritable_log_costs_the_log_entry_not_the_prediction(
    home, tmp_path, capsys, monkeypatch
):
    from digitrec.loop import log
    from digitrec.pipeline.predict import predict_to_folder

    monkeypatch.setenv("DIGITREC_LOG_MAX_MB", "lots")
    batch = predict_to_folder(registry.resolve_model(), ["samples/seven.png"], 3, False, "auto")
    assert batch.predictions[0].digit == 7
    assert "not logged: DIGITREC_LOG_MAX_MB='lots'" in capsys.readouterr().err
    monkeypatch.delenv("DIGITREC_LOG_MAX_MB")
    assert log.read() == []
