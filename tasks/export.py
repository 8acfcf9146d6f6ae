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
    kept = "agrees with Keras, kept" if exported.litert_path else "disagreed, not kept (Keras)"
    print(f"LiteRT export: {kept}")
    print(
        f"LiteRT int8 export: same digit as Keras on {exported.int8_agreement:.3%} of the "
        f"validation split, {'kept' if exported.int8_path else 'not kept'}"
    )
    return exported
