"""Export task: model.keras plus the runtime exports that predict like it."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import export
from digitrec.pipeline.records import ModelExport, RunContext, StageResult


@task(cache_policy=NO_CACHE)
def export_model(final: StageResult, run: RunContext) -> ModelExport:
    """model.keras plus its LiteRT exports (kept only when their predictions agree)."""
    exported = export.export_model(final, run)
    for name, agreement in exported.agreements.items():
        kept = "kept" if exported.files[name] else "not kept"
        print(f"{name} export: same digit as Keras on {agreement:.3%} of validation, {kept}")
    scores = ", ".join(f"{name} {value:.4%}" for name, value in exported.accuracies.items())
    print(
        f"validation accuracy per runtime: {scores}; auto runs {exported.auto_runtime or 'litert'}"
    )
    return exported
