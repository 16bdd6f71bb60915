"""Helpers shared by the tests of the agent surfaces: the MCP server, the Stop hook and the
Claude Code backend. A real Go repository (the Go sample) and its real gate.

Not a conftest.py: test folders import this module by name, as they do the top-level conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from corral.gate.base import Gate, GateResult
from corral.gate.gate import StagedGate
from corral.gate.settings import GateSettings
from corral.sandbox.local import LocalRunner
from corral.testing.repos import init_repo
from corral.testing.samples import go

CORRAL = [sys.executable, "-m", "corral"]
"""This very install's command line, as the backend itself starts it."""

TRIPLED = """
// Tripled returns each of xs times three.
func Tripled(xs []int) []int {
	out := make([]int, 0, len(xs))
	for _, x := range xs {
		out = append(out, 3*x)
	}
	return out
}
"""


def passing_change() -> dict[str, str]:
    """The Go sample with one more function: a real change that passes every check."""
    return {go.CALC_PATH: go.clean()[go.CALC_PATH] + TRIPLED}


def failing_change() -> dict[str, str]:
    """The Go sample with Sum skipping the first element: TestSum fails."""
    return {go.CALC_PATH: go.failing_test()[go.CALC_PATH]}


def go_repo(root: Path) -> Path:
    """A real git repository holding the clean Go sample, committed on main."""
    return init_repo(root, go.clean())


def local_gate(repo: Path, cache_dir: Path) -> Gate:
    """The job's gate as a backend builds it, on the local runner (bwrap is tested apart)."""
    return StagedGate(repo, base_ref="main", runner=LocalRunner(cache_dir), settings=GateSettings())


class CountingGate:
    """A gate that keeps each result it gave: how often it was asked, and what it said."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.results: list[GateResult] = []

    def check(self) -> GateResult:
        self.results.append(self.gate.check())
        return self.results[-1]


def surface_args(cache_dir: Path) -> list[str]:
    """Options that make `corral mcp` / `corral hook claude-stop` build that same gate."""
    return ["--base", "main", "--sandbox", "local", "--cache-dir", str(cache_dir)]
