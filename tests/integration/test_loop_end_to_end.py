"""The whole production loop on one real `prefect server start` with `deployments/serve.py`:
predictions are logged, a person labels them in `review/review` (resumed through the API as the
UI's form does), the labels reach the feedback store and `digitrec.feedback.added`, the
automation from prefect.yaml starts `train/retraining`, serve.py runs it and it trains on the
feedback (profile `adapt`, continuing from the champion); then drifted inputs make
`monitor/daily` emit `digitrec.monitor.drift`, which asks people: a `review/review` run over the
drifted window. A second test imports a population of other writers with `digitrec feedback
import` and checks that the retraining it triggers reads that population's held-out part better.
The served runs train on a 3,000-row Kaggle folder (DIGITREC_DATA_DIR), so each retraining takes
a minute or two, not the full data's five."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from digitrec.loop import feedback, log
from tests.integration.test_flow_predict import paper_digit
from tests.integration.test_monitor_triggers import events_named, runs_of
from tests.integration.test_review_flow import start_review, wait_state
from tests.monitor_logs import log_images, thicken
from tests.prefect_servers import (
    FINAL,
    REPO,
    Served,
    artifacts_of,
    flow_run,
    register_champion,
    table_rows,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LABELS_DUE = 3  # DIGITREC_RETRAIN_AFTER_LABELS for the served runs
TRAIN_S = 900  # the triggered retraining on 2 busy cores


class LoopServed(Served):
    """serve.py whose runs train on a small Kaggle folder and retrain after LABELS_DUE labels."""

    def __init__(self, *args, data_dir: Path):
        super().__init__(*args)
        self.data_dir = data_dir

    def env(self) -> dict[str, str]:
        extra = {"DIGITREC_DATA_DIR": str(self.data_dir)}
        return {**super().env(), **extra, "DIGITREC_RETRAIN_AFTER_LABELS": str(LABELS_DUE)}


@pytest.fixture(scope="module")
def loop(server, tmp_path_factory, strong_model_path, medium_kaggle_dir) -> Iterator[LoopServed]:
    home = tmp_path_factory.mktemp("loop") / "home"
    register_champion(home, strong_model_path)
    served = LoopServed(
        server, home, tmp_path_factory.mktemp("loop-prefect"), data_dir=medium_kaggle_dir
    )
    try:
        yield served.start()
    finally:
        served.stop()


def deployment_id(server, name: str):
    return server.api(lambda c: c.read_deployment_by_name(name)).id


def test_labels_retrain_and_drift_retrains(loop, server, mnist_arrays, monkeypatch):
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("DIGITREC_HOME", str(loop.digitrec_home))
    images, labels = mnist_arrays
    inbox = loop.digitrec_home / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(4):
        name = f"digit{i}.png"
        paper_digit(images[61_000 + i], inbox / name)
        truth[name] = str(int(labels[61_000 + i]))

    # 1. Predictions through the served predict deployment land in the log.
    inputs = json.dumps([str(inbox / name) for name in truth])
    result, _ = loop.run_deployment("predict/predict", f"inputs={inputs}", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    logged = log.read()
    assert sorted(r.input for r in logged) == sorted(truth) and {r.source for r in logged} == {
        "flow"
    }

    # 2. review/review pauses; the labels come back through the API, as the Resume form posts.
    run_id = start_review(loop, f"n={LABELS_DUE}", "reviewer=e2e", "timeout_s=900")
    paused = wait_state(server, run_id, "PAUSED")
    keyset = paused.state.state_details.run_input_keyset
    schema = json.loads(server.api(lambda c: c.read_flow_run_input(run_id, keyset["schema"])))
    answers = {}
    for key, field in schema["properties"].items():
        name = re.search(r"(digit\d\.png)", field["title"]).group(1)
        answers[key] = truth[name]
    assert len(answers) == LABELS_DUE
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        resume_flow_run(run_id, run_input=answers)
    assert wait_state(server, run_id, "COMPLETED").state.is_completed()

    # 3. The feedback store and the event, which says retraining is due.
    rows = feedback.read()
    assert len(rows) == LABELS_DUE and {r.source for r in rows} == {"review"}
    (event,) = wait_for(
        lambda: events_named(server, "digitrec.feedback.added"), 60, "the feedback event", 1
    )
    assert event["resource"]["digitrec.retrain-due"] == "true"
    assert event["payload"]["since_champion"] == LABELS_DUE

    # 4. The automation starts train/retraining; serve.py runs it, on the feedback.
    retraining = deployment_id(server, "train/retraining")
    (started,) = wait_for(
        lambda: runs_of(server, retraining, "retrain-on-feedback"), 60, "the retraining run", 1
    )
    done = wait_for(
        lambda: (run := flow_run(server, started.id)).state.type.value in FINAL and run,
        TRAIN_S,
        "the triggered retraining finishing",
        5,
    )
    assert done.state.type.value == "COMPLETED", done.state
    (run_dir,) = sorted((loop.digitrec_home / "runs").iterdir())
    with np.load(run_dir / "feedback.npz") as used:
        assert len(used["train_labels"]) + len(used["holdout_labels"]) == LABELS_DUE
    registration = json.loads((run_dir / "registration.json").read_text())
    assert registration["data_fingerprint"]["feedback"] != "none"

    # 5. Drifted inputs (thick strokes): monitor/daily raises drift, which starts retraining.
    rows_used = np.random.default_rng(0).choice(np.arange(60_000, 70_000), 300, replace=False)
    log_images(thicken(images[rows_used]), labels[rows_used])
    result, monitor_id = loop.run_deployment("monitor/daily", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    drift = wait_for(lambda: events_named(server, "digitrec.monitor.drift"), 60, "drift", 1)
    assert drift[0]["payload"]["status"] == "drift"
    review = deployment_id(server, "review/review")
    (asked,) = wait_for(lambda: runs_of(server, review, "review-on-drift"), 60, "a review", 1)
    assert asked.parameters["since"] == drift[0]["payload"]["window_start"]
    assert flow_run(server, monitor_id).state.is_completed()
    assert len(runs_of(server, retraining, "retrain-on-feedback")) == 1  # drift retrains nothing


def uci_on_paper(count: int, seed: int) -> list[tuple[np.ndarray, int]]:
    """Other writers (scikit-learn's UCI digits), smoothly enlarged, dark ink on paper."""
    import cv2
    from sklearn.datasets import load_digits

    from digitrec.data.photos import on_paper

    data, rng = load_digits(), np.random.default_rng(seed)
    out = []
    for image, label in list(zip(data.images, data.target, strict=True))[:count]:
        big = cv2.resize(
            (image * 255 / 16).astype(np.float32), (72, 72), interpolation=cv2.INTER_CUBIC
        )
        big = cv2.copyMakeBorder(np.clip(big, 0, 255), 24, 24, 24, 24, cv2.BORDER_CONSTANT)
        out.append((on_paper(cv2.GaussianBlur(big, (0, 0), 1.5), rng), int(label)))
    return out


def read_right(model: Path, files: list[tuple[Path, int]]) -> float:
    from digitrec.inference.prediction import read_inputs

    readings = read_inputs(model, [str(p) for p, _ in files], multi_digit=False)
    pairs = zip(readings.predictions, files, strict=True)
    return float(np.mean([not p.rejected and p.digit == label for p, (_, label) in pairs]))


def test_an_imported_population_is_learned_by_the_triggered_adapt(loop, server, tmp_path):
    """200 labelled scans of other writers: the feedback event starts `adapt`, whose model
    reads the population's held-out scans better than the champion did. Ignoring the
    corrections would leave that accuracy where it was."""
    import cv2

    from digitrec.registry import champion

    items = uci_on_paper(400, seed=0)
    labelled, held = tmp_path / "labelled", []
    for i, (image, label) in enumerate(items):
        folder = labelled / str(label) if i < 250 else tmp_path / "held"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
        if i >= 250:
            held.append((folder / f"{i}.png", label))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITREC_HOME", str(loop.digitrec_home))
        before_model = Path(champion().model_path)
        before = read_right(before_model, held)
    assert before < 0.995, before  # room to learn
    runs_before = set((loop.digitrec_home / "runs").iterdir())
    retraining = deployment_id(server, "train/retraining")
    started_before = {r.id for r in runs_of(server, retraining, "retrain-on-feedback")}
    command = [str(Path(sys.executable).parent / "digitrec"), "feedback", "import", str(labelled)]
    done = subprocess.run([*command, "--source", "uci", "--json"], env=loop.env(), cwd=REPO,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["imported"] == 250

    def new_run():
        runs = [r for r in runs_of(server, retraining, "retrain-on-feedback")
                if r.id not in started_before]  # fmt: skip
        return runs[0] if runs else None

    started = wait_for(new_run, 60, "the retraining the import triggered", 1)
    assert started.parameters == {"profile": "adapt"}
    finished = wait_for(
        lambda: (run := flow_run(server, started.id)).state.type.value in FINAL and run,
        TRAIN_S, "the adapt run finishing", 5,
    )  # fmt: skip
    assert finished.state.type.value == "COMPLETED", finished.state
    (run_dir,) = set((loop.digitrec_home / "runs").iterdir()) - runs_before
    assert (run_dir / "stages" / "adapted.json").is_file()  # it continued from the champion
    after = read_right(run_dir / "model.keras", held)
    assert 1 - after <= (1 - before) / 2, (before, after)  # at least half the errors gone
    gate = [a for a in artifacts_of(server, started.id) if a.key == "champion-gate"]
    assert gate, "no champion-gate table artifact"
    slices = {row["slice"] for row in table_rows(gate[0])}
    assert {"base validation", "feedback holdout"} <= slices
