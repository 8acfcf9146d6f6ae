"""Layering rules from STYLE.md that a test can check."""

import pkgutil
import subprocess
import sys

import digitrec


def test_digitrec_never_imports_prefect():
    modules = [f"digitrec.{m.name}" for m in pkgutil.iter_modules(digitrec.__path__)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert len(modules) >= 5
    assert result.stdout.strip() == "", f"digitrec imported Prefect: {result.stdout}"


def test_flow_parameters_render_as_a_described_form():
    """The Prefect UI builds each flow's run form from this schema: every field is described."""
    from flows.predict import predict
    from flows.training import train

    for flow in (train, predict):
        properties = flow.parameters.model_dump()["properties"]
        missing = [name for name, spec in properties.items() if not spec.get("description")]
        assert properties and not missing, f"{flow.name}: no description for {missing}"
    assert train.parameters.model_dump()["properties"]["epochs"]["anyOf"][0]["minimum"] == 1
    assert predict.parameters.model_dump()["required"] == ["inputs"]
