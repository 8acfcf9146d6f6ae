"""Ensembles: the averaging model, members' recipes (architectures in turn), and the `train`
flow's ensemble profile with members on a 2-worker Dask LocalCluster."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from digitrec import registry
from digitrec.modeling import ensemble
from digitrec.modeling.profiles import get_profile, member_recipes
from digitrec.modeling.training import TrainConfig
from digitrec.pipeline.training import ranked


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def members():
    """Three untrained baseline CNNs with different seeds (so their outputs differ)."""
    from digitrec.modeling.architectures import build_model

    return [build_model("baseline", seed=s) for s in (0, 1, 2)]


@pytest.fixture(scope="module")
def pixels(mnist_arrays) -> np.ndarray:
    return mnist_arrays[0][:64].reshape(-1, 28, 28, 1).astype(np.float32)  # (64, 28, 28, 1)


def member_probabilities(models, x: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(m.predict(x, verbose=0)) for m in models])  # (M, N, 10)


def test_averaging_model_is_the_mean_of_member_probabilities(members, pixels):
    each = member_probabilities(members, pixels)
    assert np.abs(each[0] - each[1]).max() > 1e-3  # distinct members: the mean is not trivial
    averaged = np.asarray(ensemble.average_models(members).predict(pixels, verbose=0))
    np.testing.assert_allclose(averaged, each.mean(0), atol=1e-6)
    np.testing.assert_allclose(averaged.sum(1), 1.0, atol=1e-5)


def test_ensemble_needs_two_members(members):
    with pytest.raises(ValueError, match="at least 2 members"):
        ensemble.average_models(members[:1])


def test_saved_ensemble_loads_and_predicts_like_its_members(members, pixels, tmp_path):
    from digitrec.inference.runtimes import keras_predictor

    paths = []
    for i, model in enumerate(members):
        paths.append(tmp_path / f"member-{i}.keras")
        model.save(paths[-1])
    saved = ensemble.build_ensemble(paths, tmp_path / "ensemble.keras")
    # Through the same loader `predict` uses for a .keras model.
    loaded = keras_predictor(saved)(pixels)
    np.testing.assert_allclose(loaded, member_probabilities(members, pixels).mean(0), atol=1e-6)


def test_members_take_the_ranked_architectures_in_turn_with_their_own_seeds():
    compact, strong = (
        TrainConfig(a, epochs=2, batch_size=b) for a, b in [("compact", 256), ("strong", 128)]
    )
    plan = get_profile("ensemble", members=5, augmented_epochs=7)
    recipes = member_recipes(plan, [strong, compact], seed=3, batch_size=None)
    assert [r.architecture for r in recipes] == ["strong", "compact", "strong", "compact", "strong"]
    assert [r.seed for r in recipes] == [3, 4, 5, 6, 7]
    assert [r.batch_size for r in recipes] == [128, 256, 128, 256, 128]  # each architecture's own
    assert {r.epochs for r in recipes} == {7}
    assert all(r.augmentation is not None for r in recipes)
    assert {r.batch_size for r in member_recipes(plan, [strong, compact], 3, 64)} == {64}


def test_stages_rank_best_first_and_ties_keep_their_order():
    stages = [SimpleNamespace(val_accuracy=a) for a in (0.97, 0.99, 0.98, 0.99)]
    assert ranked(stages) == [1, 3, 2, 0]


def test_ensemble_name_counts_each_architecture():
    assert ensemble.describe_members(["compact", "strong", "compact"]) == (
        "ensemble of 2 compact + 1 strong"
    )
    assert ensemble.describe_members(["baseline", "baseline"]) == "ensemble of 2 baseline"


def test_local_cluster_sizing_never_oversubscribes_the_cores():
    assert ensemble.cluster_workers(5, cores=2) == 2
    assert ensemble.threads_per_worker(2, cores=2) == 1
    assert ensemble.cluster_workers(2, cores=16) == 2
    assert ensemble.threads_per_worker(2, cores=16) == 8
    for members, cores in [(5, 2), (5, 16), (3, 8), (1, 1)]:
        workers = ensemble.cluster_workers(members, cores)
        assert workers * ensemble.threads_per_worker(workers, cores) <= cores


def member_task_runs() -> dict[str, str]:
    """Names and states of the task runs of the latest `train-ensemble-members` subflow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    async def read():
        async with get_client() as client:
            (subflow,) = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["train-ensemble-members"])),
                sort=FlowRunSort.START_TIME_DESC,
                limit=1,
            )
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[subflow.id]))
            )
            return {run.name: run.state.type.value for run in runs}

    return asyncio.run(read())


@pytest.mark.slow
@pytest.mark.integration
def test_ensemble_profile_trains_members_in_separate_dask_workers(
    prefect_harness, home, medium_kaggle_dir
):
    import keras

    from digitrec.data.kaggle import load_csv
    from flows.training import train
    from tests.predictions import predict_inputs

    result = train(
        data_dir=str(medium_kaggle_dir),
        profile="ensemble",
        members=2,
        epochs=2,
        batch_size=64,
        seed=0,
    )
    run_dir = home / "runs" / result.run_dir.split("/")[-1]
    stages = {
        name: json.loads((run_dir / "stages" / f"{name}.json").read_text())
        for name in ("optimized-compact", "optimized-strong", "member-1", "member-2", "ensemble")
    }
    # Members ran in two different worker processes, neither of them this test's process.
    pids = {stages[m]["worker"]["pid"] for m in ("member-1", "member-2")}
    assert len(pids) == 2 and os.getpid() not in pids
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert all(stages[m]["worker"]["tf_threads"] == threads for m in ("member-1", "member-2"))
    assert stages["member-1"]["recipe"]["seed"] != stages["member-2"]["recipe"]["seed"]
    # Members take the compared architectures in turn, the comparison's winner first.
    winner, other = sorted(
        ("optimized-compact", "optimized-strong"), key=lambda s: -stages[s]["val_accuracy"]
    )
    assert stages["member-1"]["architecture"] == stages[winner]["architecture"]
    assert stages["member-2"]["architecture"] == stages[other]["architecture"]

    assert member_task_runs() == {"train-member-1": "COMPLETED", "train-member-2": "COMPLETED"}

    # Each member reports its curve on the run's validation rows (disjoint from the training
    # rows): its last curve point is the saved member's exact score there.
    train = load_csv(medium_kaggle_dir / "train.csv", kind="train")
    with np.load(run_dir / "split.npz") as split:
        train_idx, val_idx = split["train"], split["validation"]
    val_x = train.images[val_idx].reshape(-1, 28, 28, 1).astype(np.float32)  # (N_val, 28, 28, 1)
    for m in ("member-1", "member-2"):
        saved = keras.saving.load_model(stages[m]["model_path"], compile=False)
        score = np.mean(saved.predict(val_x, verbose=0).argmax(1) == train.labels[val_idx])
        assert stages[m]["val_accuracy"] == pytest.approx(score, abs=1e-9)
        assert len(stages[m]["history"]["val_accuracy"]) == 2
    assert np.intersect1d(train_idx, val_idx).size == 0

    # model.keras is one Keras model that averages the two saved members.
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    assert {"member_1", "member_2"} <= {layer.name for layer in model.layers}
    images = load_csv(medium_kaggle_dir / "test.csv", kind="test").images[:32]
    images = images.reshape(-1, 28, 28, 1).astype(np.float32)  # (32, 28, 28, 1)
    saved_members = [
        keras.saving.load_model(stages[m]["model_path"], compile=False)
        for m in ("member-1", "member-2")
    ]
    np.testing.assert_allclose(
        model.predict(images, verbose=0),
        member_probabilities(saved_members, images).mean(0),
        atol=1e-5,
    )

    # Evaluated, scored, registered and promoted like any model; predict uses it unchanged.
    assert result.val_accuracy == pytest.approx(stages["ensemble"]["val_accuracy"])
    assert result.hidden_test_accuracy > 0.5
    assert result.champion is True
    record = registry.champion()
    assert record.run_id == run_dir.name and record.architecture == (
        f"ensemble of 1 {stages[winner]['architecture']} + 1 {stages[other]['architecture']}"
    )
    assert (run_dir / "model.tflite").is_file()
    predictions = predict_inputs(
        registry.resolve_model("champion"), [medium_kaggle_dir / "test.csv"]
    )
    assert len(predictions) == 500 and not any(p.error for p in predictions)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [m["model"] for m in metrics["models"]] == [
        "baseline",
        "optimized-compact",
        "optimized-strong",
        "member-1",
        "member-2",
        "ensemble",
    ]


@pytest.mark.slow
@pytest.mark.integration
def test_members_run_on_an_existing_cluster_named_in_the_environment(
    prefect_harness, tmp_path, monkeypatch, small_kaggle_dir
):
    from distributed import Client, LocalCluster
    from prefect import flow

    from digitrec.data.sources import locate_data
    from digitrec.pipeline.run import split_data
    from flows.ensemble import train_ensemble

    run = split_data(locate_data(str(small_kaggle_dir)), tmp_path, 0.1, 0)
    recipe = TrainConfig("baseline", epochs=1, batch_size=64, augmentation=None)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    # Not the default client: the task runner must find the cluster through its address.
    with cluster, Client(cluster, set_as_default=False) as client:
        worker_pids = set(client.run(os.getpid).values())
        monkeypatch.setenv("DIGITREC_DASK_ADDRESS", cluster.scheduler_address)
        in_a_flow = flow(train_ensemble, name="ensemble-on-an-existing-cluster")
        recipes = [recipe, replace(recipe, seed=1)]
        members, combined = in_a_flow(recipes, run, dask_address=None)
    assert {m.worker.pid for m in members} <= worker_pids
    assert os.getpid() not in worker_pids
    assert all(m.worker.tf_threads is None for m in members)  # that cluster's own sizing
    assert combined.architecture == "ensemble of 2 baseline"
    assert (tmp_path / "models" / "ensemble.keras").is_file()
