"""A long predict batch followed chunk by chunk (`on_progress`), as the predict task's progress
artifact follows it."""

from __future__ import annotations

import pytest

from tests.predictions import predict_inputs


def test_a_followed_batch_reports_its_progress_chunk_by_chunk(
    strong_model_path, small_kaggle_dir, tmp_path, monkeypatch
):
    """200 CSV rows in chunks of 64: (done, total) rises from 0 to 200, and the predictions are
    those of one unchunked call."""
    from digitrec.inference import prediction
    from digitrec.pipeline.predict import predict_to_folder

    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(prediction, "PROGRESS_CHUNK", 64)
    rows = str(small_kaggle_dir / "test.csv")
    calls: list[tuple[int, int]] = []
    batch = predict_to_folder(
        str(strong_model_path), [rows], 3, False, "auto", log_predictions=False,
        on_progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls == [(0, 200), (64, 200), (128, 200), (192, 200), (200, 200)]
    whole = predict_inputs(strong_model_path, [rows])
    assert [p.digit for p in batch.predictions] == [p.digit for p in whole]
    assert [p.confidence for p in batch.predictions] == pytest.approx(
        [p.confidence for p in whole], abs=1e-6
    )
