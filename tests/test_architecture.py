"""Layering rules that a test can check, read statically from the source (ast), so lazy imports
inside functions count too."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "digitrec"
# Within digitrec, a module may import its own subpackage and any lower layer, never a higher one.
LAYERS = {
    "constants": 0,
    "arrays": 0,
    "storage": 0,
    "markdown": 0,
    "plotting": 0,
    "hardware": 0,
    "data": 1,
    "modeling": 2,
    "evaluation": 2,
    "inference": 2,
    "registry": 2,
    "loop": 3,  # importing labelled images reads them as `predict` does (inference)
    "pipeline": 4,
}
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in the file names, wherever the statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def library_files() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def test_the_library_never_imports_prefect_flows_tasks_or_apps():
    files = library_files()
    assert len(files) > 30
    forbidden = {"prefect", "flows", "tasks", "app", "deployments"}
    bad = {
        module_name(path): sorted(m for m in imported_modules(path) if top(m) in forbidden)
        for path in files
    }
    assert {name: mods for name, mods in bad.items() if mods} == {}


def test_imports_only_run_down_the_layers():
    violations = []
    for path in library_files():
        name = module_name(path)
        if name == "digitrec":
            continue
        own = name.split(".")[1]
        for target in imported_modules(path):
            parts = target.split(".")
            if parts[0] != "digitrec" or len(parts) < 2 or parts[1] not in LAYERS:
                continue
            lower = LAYERS[parts[1]] < LAYERS[own] or LAYERS[own] == 0  # shared modules: peers
            if parts[1] != own and not lower:
                violations.append(f"{name} imports {target}")
    assert violations == []


def test_the_apps_layers_run_down_too():
    """tasks never import flows, app or deployments; flows never import app or deployments."""
    rules = {"tasks": {"flows", "app", "deployments"}, "flows": {"app", "deployments"}}
    violations = [
        f"{module_name(path)} imports {target}"
        for package, forbidden in rules.items()
        for path in sorted((REPO / package).glob("*.py"))
        for target in imported_modules(path)
        if top(target) in forbidden
    ]
    assert violations == []


def test_no_import_cycles_in_the_library():
    names = {module_name(path): path for path in library_files()}
    graph = {
        name: {t for t in imported_modules(path) if t in names and t != name}
        for name, path in names.items()
    }
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize("package", ["digitrec", "tasks", "flows", "app", "deployments"])
def test_no_module_is_over_300_lines(package):
    long = {
        str(p.relative_to(REPO)): n
        for p in (REPO / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_flow_parameters_render_as_a_described_form():
    """The Prefect UI builds each flow's run form from this schema: every field is described."""
    from flows.monitor import monitor
    from flows.predict import predict
    from flows.review import review
    from flows.training import train

    for flow in (train, predict, monitor, review):
        properties = flow.parameters.model_dump()["properties"]
        missing = [name for name, spec in properties.items() if not spec.get("description")]
        assert properties and not missing, f"{flow.name}: no description for {missing}"
    assert train.parameters.model_dump()["properties"]["epochs"]["anyOf"][0]["minimum"] == 1
    assert predict.parameters.model_dump()["required"] == ["inputs"]


def test_choices_derive_from_the_registries():
    """Profiles and runtimes are declared once: the flows' forms and the CLI offer exactly those."""
    import typer
    from typer.testing import CliRunner

    from app.cli import app
    from digitrec.inference.runtimes import RUNTIME_CHOICES, RUNTIMES
    from digitrec.modeling.profiles import PROFILES
    from flows.predict import predict
    from flows.training import train

    assert train.parameters.model_dump()["properties"]["profile"]["enum"] == list(PROFILES)
    assert predict.parameters.model_dump()["properties"]["runtime"]["enum"] == list(RUNTIME_CHOICES)
    commands = typer.main.get_command(app).commands
    option = {
        (command, param.name): param
        for command in ("train", "predict")
        for param in commands[command].params
    }
    choices = {
        key: [e.value for e in param.type_descriptor.annotation]
        for key, param in option.items()
        if key[1] in ("profile", "runtime")
    }
    assert choices == {
        ("train", "profile"): list(PROFILES),
        ("predict", "runtime"): list(RUNTIME_CHOICES),
    }
    assert all(
        f"{p.name}: {p.summary}" in option["train", "profile"].help for p in PROFILES.values()
    )
    assert all(
        f"{r.name}: {r.summary}" in option["predict", "runtime"].help for r in RUNTIMES.values()
    )
    runner = CliRunner()
    refused = runner.invoke(app, ["train", "--profile", "huge"])
    assert refused.exit_code != 0 and "huge" in refused.output


def test_the_train_command_offers_each_flow_parameter_with_its_default():
    """The flow's signature is the source: `digitrec train` has one option per parameter, with
    the same default, so a parameter added to the flow fails here until the CLI offers it."""
    import inspect

    import typer

    from app.cli import app
    from flows.training import train

    flow = {name: p.default for name, p in inspect.signature(train.fn).parameters.items()}
    command = typer.main.get_command(app).commands["train"]
    cli = {p.name: getattr(p.default, "value", p.default) for p in command.params}
    assert cli == flow
