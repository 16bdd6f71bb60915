"""Agent-test helpers: a gate made of the real verifiers, and small real repositories.

Not a conftest.py: other test folders import the top-level conftest by name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from corral.gate.base import GateResult, StageResult
from corral.sandbox.base import CommandRunner
from corral.sandbox.local import LocalRunner
from corral.testing.samples import sample
from corral.verifiers import verify

ALL_BUILTIN_VERIFIERS = ["maven", "gradle", "node", "python", "go", "cargo"]


class VerifierGate:
    """The verifiers stage alone, run on the working tree as it is: enough gate for the loop."""

    def __init__(self, workspace: Path, runner: CommandRunner) -> None:
        self.workspace = workspace
        self.runner = runner
        self.checks = 0

    def check(self) -> GateResult:
        self.checks += 1
        report = verify(self.workspace, self.runner, prepare=False)
        stage = StageResult("verifiers", report.ok, report.message)
        return GateResult(report.ok, report.message, [stage])


def pytest_repo_files(calc_body: str = "return a - b") -> dict[str, str]:
    """A two-file Python project checked by a custom pytest verifier (its `.corral.yaml`).

    `add` is wrong until its body is `return a + b`. pytest runs with -B and no cache
    provider, so verifying writes nothing into the checkout, and without plugin autoloading,
    which takes seconds with this virtualenv's many plugins.
    """
    pytest = [sys.executable, "-B", "-m", "pytest", "-q", "--tb=line", "-p", "no:cacheprovider"]
    command = ["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", *pytest]
    config = {
        "verifiers": {
            "disable": ALL_BUILTIN_VERIFIERS,
            "custom": [
                {
                    "name": "pytest",
                    "activate": "test_*.py",
                    "command": command,
                    "pattern": r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<message>.+)$",
                    "kind": "test",
                }
            ],
        }
    }
    return {
        ".corral.yaml": json.dumps(config, indent=2),  # JSON is YAML
        "calc.py": f"def add(a: int, b: int) -> int:\n    {calc_body}\n",
        "test_calc.py": (
            "from calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"
        ),
    }


@pytest.fixture(scope="session")
def warm_go_cache(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Download the Go sample's dependencies once, so gates can check with prepare=False."""
    root = tmp_path_factory.mktemp("go-warm")
    for rel, content in sample("go").clean().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    report = verify(root, LocalRunner(cache_dir))
    assert report.ok, report.message
    return cache_dir
