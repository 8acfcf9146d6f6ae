"""The train flow's number-reader step on tiny data: trained once, measured by spacing, exported
to LiteRT only when it reads as Keras does, carried over from the champion unchanged, and
registered with the digit model as one of its sidecars."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitrec.inference.number_reader import load_line_predictor, reader_litert_path, reader_path


@pytest.fixture
def tiny_run(tmp_path, monkeypatch, small_kaggle_dir):
    from digitrec.data.sources import locate_data
    from digitrec.pipeline import number_reading
    from digitrec.pipeline.run import split_data

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(number_reading, "CHECK_PER_SPACING", 8)
    run = split_data(locate_data(str(small_kaggle_dir)), tmp_path / "run", 0.2, 0)
    (run.run_dir / "model.keras").write_bytes(b"stand-in: the step only names its reader after it")
    return run


def test_a_reader_is_trained_measured_and_exported(tiny_run):
    from digitrec.pipeline.number_reading import number_reader_step, summary_path

    steps = []
    model = tiny_run.run_dir / "model.keras"
    reading = number_reader_step(tiny_run, model, 6, on_step=lambda s, loss: steps.append(s))
    assert reading is not None and reading.trained and reading.lines == 6 * 64 // 4
    assert reading.steps == 6 and reading.note == ""
    assert steps[-1] == 6
    assert reader_path(model).is_file() and reading.path == str(reader_path(model))
    assert set(reading.exact) == set(reading.count) == {"apart", "close", "touching"}
    assert all(0.0 <= share <= 1.0 for share in [*reading.exact.values(), *reading.count.values()])
    # LiteRT is kept only when it reads every check number as Keras does; then serving uses it.
    assert reading.litert is None or reading.litert == str(reader_litert_path(model))
    predictor = load_line_predictor(model)
    assert predictor(np.zeros((2, 28, 256, 1), np.float32)).shape == (2, 64, 11)
    stored = json.loads(summary_path(reader_path(model)).read_text())
    assert stored["exact"] == reading.exact and stored["trained"] is True
    assert (tiny_run.run_dir / "figures" / "number_reader.png").stat().st_size > 1000


def test_the_champions_reader_is_carried_over_unchanged(tiny_run, tmp_path):
    from digitrec.pipeline.number_reading import number_reader_step

    first = number_reader_step(tiny_run, tiny_run.run_dir / "model.keras", 4)
    later = tmp_path / "later" / "model.keras"
    later.parent.mkdir()
    carried = number_reader_step(tiny_run, later, 4, champion=tiny_run.run_dir / "model.keras")
    assert carried is not None and not carried.trained and carried.seconds == 0
    assert carried.exact == first.exact  # the same reader: its measurements travel with it
    assert (
        reader_path(later).read_bytes()
        == reader_path(tiny_run.run_dir / "model.keras").read_bytes()
    )


def test_a_longer_profile_trains_its_own_reader(tiny_run, tmp_path):
    """A champion's reader of 4 steps is not carried into a run asking for 8: one is trained
    (and kept: it reads the run's check numbers at least as well)."""
    from digitrec.pipeline.number_reading import number_reader_step, trained_steps

    champion = tiny_run.run_dir / "model.keras"
    first = number_reader_step(tiny_run, champion, 4)
    assert trained_steps(reader_path(champion)) == 4
    later = tmp_path / "later" / "model.keras"
    later.parent.mkdir()
    second = number_reader_step(tiny_run, later, 8, champion=champion)
    assert second is not None and second.trained and second.steps == 8
    assert sum(second.exact.values()) >= sum(first.exact.values())
    assert reader_path(later).read_bytes() != reader_path(champion).read_bytes()
    assert trained_steps(tmp_path / "none.number_reader.keras") == -1


def test_a_reader_that_reads_worse_than_the_champions_is_not_kept(tiny_run, tmp_path):
    """The champion's reader (the committed, well-trained one, whose summary claims 4 steps)
    beats one of 8 steps on the run's check numbers: it is carried over, and the note says so."""
    from digitrec.pipeline.number_reading import number_reader_step, summary_path
    from tests.conftest import READER

    champion = tmp_path / "champion" / "model.keras"
    champion.parent.mkdir()
    reader_path(champion).write_bytes(READER.read_bytes())
    summary = {"exact": {}, "count": {}, "lines": 0, "steps": 4, "trained": True}
    summary_path(reader_path(champion)).write_text(json.dumps(summary))
    model = tiny_run.run_dir / "model.keras"
    reading = number_reader_step(tiny_run, model, 8, champion=champion)
    assert reading is not None and not reading.trained and reading.steps == 4
    assert "champion's reads this run's check numbers better" in reading.note
    assert reader_path(model).read_bytes() == READER.read_bytes()
    assert not reader_litert_path(model).exists()  # the one trained here is gone, export too


def test_a_summary_without_steps_counts_them_from_its_lines(tmp_path):
    from digitrec.pipeline.number_reading import summary_path, trained_steps

    reader = tmp_path / "model.number_reader.keras"
    summary_path(reader).write_text(json.dumps({"lines": 48_000}))
    assert trained_steps(reader) == 3000


def test_no_reader_when_its_steps_are_zero(tiny_run, monkeypatch):
    from digitrec.pipeline.number_reading import number_reader_step, reader_steps

    assert number_reader_step(tiny_run, tiny_run.run_dir / "model.keras", 0) is None
    monkeypatch.setenv("DIGITREC_READER_STEPS", "25")
    assert reader_steps(1500) == 25
    monkeypatch.setenv("DIGITREC_READER_STEPS", "many")
    with pytest.raises(ValueError, match="DIGITREC_READER_STEPS='many'"):
        reader_steps(1500)


def test_the_reader_travels_with_the_model_into_the_registry(tmp_path):
    from digitrec.registry.cache import sidecars

    model = tmp_path / "model.keras"
    for name in ("model.keras", "model.tflite", "model.number_reader.keras"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "model.number_reader.json").write_text("{}")
    names = {p.name for p in sidecars(model)}
    assert {"model.number_reader.keras", "model.number_reader.json"} <= names
