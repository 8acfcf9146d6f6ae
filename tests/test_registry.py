"""Registry: records, champion promotion rules, model references."""

import json

import pytest

from digitrec import registry


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path))
    return tmp_path


def test_empty_registry_has_no_champion():
    assert registry.champion() is None
    with pytest.raises(FileNotFoundError, match="no champion model yet"):
        registry.resolve_model("champion")


def test_decide_promotion():
    assert registry.decide_promotion(0.99, None) == (True, "no champion yet")
    assert registry.decide_promotion(0.995, 0.99)[0] is True
    assert registry.decide_promotion(0.99, 0.99)[0] is False
    assert registry.decide_promotion(0.98, 0.99)[0] is False


def test_register_and_promote(fresh_home):
    model = fresh_home / "runs" / "r1" / "model.keras"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"x")
    registry.register({"run_id": "r1", "model_path": str(model)}, promote=True)
    registry.register({"run_id": "r2", "model_path": "elsewhere.keras"}, promote=False)
    data = json.loads(registry.registry_path().read_text())
    assert data["champion"] == "r1" and [m["run_id"] for m in data["models"]] == ["r1", "r2"]
    assert registry.resolve_model("champion") == model
    assert registry.resolve_model("r1") == model
    assert registry.resolve_model(str(model)) == model
    with pytest.raises(FileNotFoundError, match="'r9' is neither"):
        registry.resolve_model("r9")


def test_record_needs_run_id_and_model():
    with pytest.raises(ValueError, match="lacks 'model_path'"):
        registry.register({"run_id": "r1"}, promote=True)
    assert not registry.registry_path().exists()


def test_corrupt_registry_is_reported_not_overwritten():
    path = registry.registry_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="corrupt registry"):
        registry.register({"run_id": "r1", "model_path": "m.keras"}, promote=True)
    assert path.read_text() == "{not json"
