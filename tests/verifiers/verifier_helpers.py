"""Helpers shared by the ecosystem test modules: one verifier alone, and `corral verify --json`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corral.config import VerifierSettings
from corral.sandbox.base import CommandResult
from corral.sandbox.local import LocalRunner
from corral.testing.cli import CORRAL
from corral.verifiers.registry import BUILTIN
from corral.verifiers.report import VerifyReport


def only(name: str) -> VerifierSettings:
    """Settings that switch every built-in verifier off but `name`."""
    return VerifierSettings(disable=sorted(set(BUILTIN) - {name}))


def verify_json_via_cli(repo: Path, name: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    """`corral verify --json` on repo with only verifier `name`, set through a `.corral.yaml`."""
    config = repo / ".corral.yaml"
    config.write_text(json.dumps({"verifiers": {"disable": only(name).disable}}))
    try:
        return subprocess.run(
            [CORRAL, "verify", repo, "--json", "--sandbox", "local", "--cache-dir", cache_dir],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        config.unlink()


class RecordingRunner(LocalRunner):
    """A local runner that keeps the argv of every command it runs (what a check costs)."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir)
        self.commands: list[list[str]] = []

    def run(self, argv: Sequence[str], **kwargs: Any) -> CommandResult:
        self.commands.append(list(argv))
        return super().run(argv, **kwargs)

    def ran(self, *prefix: str) -> int:
        """How many commands started with `prefix`."""
        return sum(c[: len(prefix)] == list(prefix) for c in self.commands)


def assert_same_report(side: VerifyReport, serial: VerifyReport) -> None:
    """A verify with checks side by side reports what the one-after-another verify did: the
    same findings in the same order, stages, sources, notes and message."""
    [result], [expected] = side.results, serial.results
    assert side.ok == serial.ok
    assert result.findings == expected.findings
    assert (result.stages, result.sources, result.notes) == (
        expected.stages,
        expected.sources,
        expected.notes,
    )
    assert side.message == serial.message
