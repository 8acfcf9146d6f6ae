"""Number-reader task: the champion's reader carried over, else one trained; its artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import registry
from digitrec.pipeline import number_reading
from digitrec.pipeline.records import NumberReading, RunContext
from tasks.artifacts import publish_table, publish_table_and_figure


@task(cache_policy=NO_CACHE)
def read_numbers(model_path: str, run: RunContext, steps: int) -> NumberReading | None:
    """The run's number reader beside its model; publish its accuracy by spacing and what it
    read in touching numbers."""
    champion = registry.champion()
    reading = number_reading.number_reader_step(
        run,
        Path(model_path),
        number_reading.reader_steps(steps),
        Path(champion.model_path) if champion and champion.model_path else None,
        on_step=lambda step, loss: print(f"number reader: step {step}, CTC loss {loss:.3f}"),
    )
    if reading is None:
        print(f"number reader: none ({number_reading.STEPS_SETTING}=0, no champion's to carry)")
        return None
    where = f"trained in {reading.seconds:.0f} s" if reading.trained else "the champion's"
    if reading.note:
        print(f"number reader: {reading.note}")
    scores = ", ".join(f"{s} {share:.1%}" for s, share in reading.exact.items())
    print(f"number reader ({where}): numbers read exactly: {scores}")
    row = {"trained": reading.trained, "seconds": reading.seconds, "steps": reading.steps}
    row |= {f"exact {s}": share for s, share in reading.exact.items()}
    row |= {f"count {s}": share for s, share in reading.count.items()}
    if reading.figure:
        publish_table_and_figure("number-reader", row, Path(reading.figure), "Number reader")
    else:  # carried over: the champion's run drew what it read
        publish_table("number-reader", [row], "Number reader (the champion's, carried over)")
    return reading
