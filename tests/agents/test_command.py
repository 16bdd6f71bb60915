"""A deterministic change command as the agent: it runs in the sandbox in the workspace, and
its diff goes through the same gate as any agent's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from corral.agents.base import AgentOutcome
from corral.agents.command import CommandAgent
from corral.agents.transcript import MemoryRecorder
from corral.sandbox.local import LocalRunner
from corral.testing.samples import go
from surface_helpers import CORRAL, TRIPLED, CountingGate, go_repo, local_gate

BREAKS_THE_BUILD = """sed -i 's/total += x/total += x + "1"/' calc/calc.go"""
ADDS_TRIPLED = f"cat >> calc/calc.go <<'EOF'\n{TRIPLED}EOF"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return go_repo(tmp_path / "repo")


def run_command(command: str, repo: Path, cache_dir: Path) -> tuple[AgentOutcome, CountingGate]:
    gate = CountingGate(local_gate(repo, cache_dir))
    agent = CommandAgent(command, LocalRunner(cache_dir))
    return agent.run(repo, f"Change command: `{command}`", gate, MemoryRecorder()), gate


def test_a_command_that_breaks_the_build_is_stopped_by_the_gate(
    repo: Path, cache_dir: Path
) -> None:
    outcome, gate = run_command(BREAKS_THE_BUILD, repo, cache_dir)

    assert outcome.status == "gate_failed"
    assert outcome.final_gate is not None and not outcome.final_gate.ok
    assert "calc/calc.go:8" in outcome.final_gate.message
    assert len(gate.results) == 1


def test_a_command_whose_change_passes(repo: Path, cache_dir: Path) -> None:
    outcome, _ = run_command(ADDS_TRIPLED, repo, cache_dir)

    assert (outcome.status, outcome.reason) == ("passed", "the gate passed")
    assert (repo / go.CALC_PATH).read_text() == go.clean()[go.CALC_PATH] + TRIPLED


@pytest.mark.parametrize(
    ("command", "status", "reason"),
    [
        ("echo 'cannot parse go.mod' >&2; exit 3", "error", "exited 3: cannot parse go.mod"),
        ("true", "no_change", "left the repository unchanged"),
    ],
)
def test_a_failed_or_empty_command_ends_without_a_gate(
    command: str, status: str, reason: str, repo: Path, cache_dir: Path
) -> None:
    outcome, gate = run_command(command, repo, cache_dir)

    assert outcome.status == status
    assert reason in outcome.reason
    assert len(gate.results) == 0


def test_corral_change_runs_a_command_through_the_gate(repo: Path, cache_dir: Path) -> None:
    done = subprocess.run(
        [*CORRAL, "change", str(repo), "--command", BREAKS_THE_BUILD, "--json",
         "--sandbox", "local", "--cache-dir", str(cache_dir)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "gate_failed" and not report["ok"]
    assert "calc/calc.go:8" in report["gate"]["message"]


def test_corral_change_refuses_a_prompt_and_a_command(repo: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Add Tripled.\n")
    done = subprocess.run(
        [*CORRAL, "change", str(repo), "--command", "true", "--prompt", str(prompt)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 2
    assert "not both" in done.stderr
