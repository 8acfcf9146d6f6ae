"""How serve.py starts flow runs: by forking a warm process instead of spawning an interpreter,
with each flow handed to the run's process by name.

Prefect's runner starts each run of a flow it holds in a new process made with
multiprocessing's `spawn`, which imports Prefect and the flow's modules all over again: about
2 s of a one-image predict run on 2 cores (bench/RESULTS.md). Here runs come from a
`forkserver` whose server process imported those modules once, so a run starts from a fork of
it. Each run is still its own process: a crash, a cancellation or the memory it holds ends with
it, as before. The server process only imports; it starts no threads and loads no model, so
forking it is safe, and each run reads the champion as it is when the run starts.

The runner sends the flow object to the run's process with cloudpickle, which copies a flow's
function by value (its module attribute is the Flow, not the function); the copy loses the
names its string annotations refer to (`from __future__ import annotations`), and the run
fails validating its parameters. A flow that its module holds under its function's name is sent
by name instead, and the run's process uses the module's own flow.
"""

from __future__ import annotations

import copyreg
import importlib
import multiprocessing
import sys
import types
from collections.abc import Iterable
from typing import Any

import prefect.flow_engine
from prefect import Flow

# Imported once by the fork server: what every flow run needs before its first line.
BASE_PRELOAD = ("prefect.flow_engine", "prefect.main")


def flow_by_name(module: str, name: str) -> Flow:
    """The flow `module.name`, imported (at once, in a process forked after the import)."""
    return getattr(importlib.import_module(module), name)


def reduce_flow(flow: Flow) -> tuple[Any, ...]:
    """Pickle a module's flow as a reference to it; any other flow as Prefect pickles it."""
    module, name = flow.fn.__module__, flow.fn.__name__
    if getattr(sys.modules.get(module), name, None) is flow:
        return flow_by_name, (module, name)
    return flow.__reduce_ex__(4)


def forking_multiprocessing(preload: Iterable[str]) -> types.ModuleType:
    """A stand-in for the `multiprocessing` module whose every context is a forkserver that has
    imported `preload` (the only use `prefect.flow_engine` makes of the module is
    `multiprocessing.get_context("spawn")` in `run_flow_in_subprocess`)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*BASE_PRELOAD, *preload])
    module = types.ModuleType("multiprocessing_forkserver")
    module.get_context = lambda method=None: context
    module.context = multiprocessing.context
    return module


def send_flows_by_name() -> None:
    """Pickle importable flows by reference in this process (see the module's docstring)."""
    copyreg.pickle(Flow, reduce_flow)


def start_runs_by_fork(preload: Iterable[str]) -> None:
    """Make this process's runner start flow runs from a warm fork server that has imported
    `preload` (the flows' modules). Call before the runner starts."""
    send_flows_by_name()
    prefect.flow_engine.multiprocessing = forking_multiprocessing(preload)


def starts_runs_by_fork() -> bool:
    """Whether start_runs_by_fork is in effect in this process."""
    return prefect.flow_engine.multiprocessing is not multiprocessing
