"""The gate's order and fail-closed behaviour, with real git and real processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_helpers import CHECK_SCRIPT, ListRecorder, grep_verifier

from corral.config import VerifierSettings
from corral.gate.gate import StagedGate
from corral.gate.settings import GateSettings
from corral.sandbox.base import CommandRunner
from corral.testing.repos import MakeRepo, git
from corral.verifiers.registry import BUILTIN


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo({"check.sh": CHECK_SCRIPT, "a.txt": "fine\n"})


def grep_gate(
    repo: Path, runner: CommandRunner, command: list[str] | None = None
) -> tuple[StagedGate, ListRecorder]:
    """The gate on repo's working tree against HEAD, with the grep verifier, recording."""
    recorder = ListRecorder()
    settings = GateSettings(verifiers=grep_verifier(command))
    gate = StagedGate(repo, base_ref="HEAD", runner=runner, settings=settings, recorder=recorder)
    return gate, recorder


def test_clean_change_passes_and_is_recorded(repo: Path, local_runner: CommandRunner) -> None:
    (repo / "a.txt").write_text("fine\nstill fine\n")
    gate, recorder = grep_gate(repo, local_runner)
    result = gate.check()
    assert result.ok, result.message
    assert result.stages[0].name == "verifiers"
    [(kind, data)] = recorder.records
    assert kind == "gate"
    assert data["ok"] is True and data["vetoed"] is False and data["failed_stage"] is None


def test_new_verifier_failure_fails_the_gate(repo: Path, local_runner: CommandRunner) -> None:
    (repo / "a.txt").write_text("fine\nBROKEN\n")
    gate, recorder = grep_gate(repo, local_runner)
    result = gate.check()
    assert not result.ok
    assert "a.txt:2" in result.message
    assert [s.name for s in result.stages] == ["verifiers"]
    data = recorder.records[0][1]
    assert data["failed_stage"] == "verifiers" and data["vetoed"] is False


def test_pre_existing_failure_is_excused_by_the_baseline(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    repo = make_repo({"check.sh": CHECK_SCRIPT, "a.txt": "BROKEN already\n"})
    (repo / "b.txt").write_text("a new file\n")
    gate, _ = grep_gate(repo, local_runner)
    result = gate.check()
    assert result.ok, result.message
    # and the same finding in a new place is the change's fault
    (repo / "b.txt").write_text("BROKEN too\n")
    result = gate.check()
    assert not result.ok and "b.txt:1" in result.message


def test_verifier_that_cannot_run_fails_closed(repo: Path, local_runner: CommandRunner) -> None:
    (repo / "a.txt").write_text("fine\nstill fine\n")
    gate, recorder = grep_gate(repo, local_runner, ["no-such-tool-corral"])
    result = gate.check()
    assert not result.ok
    assert "no-such-tool-corral" in result.message
    assert recorder.records[0][1]["could_not_run"] is True


def test_unknown_base_ref_is_refused(repo: Path, local_runner: CommandRunner) -> None:
    from corral.gate.diff import DiffError

    with pytest.raises(DiffError, match="not a commit"):
        StagedGate(repo, base_ref="nope", runner=local_runner, settings=GateSettings())
    assert git(repo, "status", "--porcelain") == ""


def test_guard_runs_after_verifiers_and_its_message_reaches_the_agent(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    test_file = "def test_add():\n    assert 1 + 1 == 2\n"
    repo = make_repo({"check.sh": CHECK_SCRIPT, "a.txt": "fine\n", "tests/test_a.py": test_file})
    (repo / "tests/test_a.py").write_text("import pytest\n\n@pytest.mark.skip\n" + test_file)
    gate, recorder = grep_gate(repo, local_runner)
    result = gate.check()
    assert not result.ok
    assert [(s.name, s.ok) for s in result.stages] == [("verifiers", True), ("guard", False)]
    assert "tests/test_a.py:3" in result.message and "re-enable" in result.message
    data = recorder.records[0][1]
    assert data["vetoed"] is True and data["vetoed_by"] == "guard"
    assert data["stages"][1]["details"]["fired"] == ["tests-disabled"]
    assert git(repo, "status", "--porcelain") == " M tests/test_a.py\n"


# --- a check that did not run is never excused --------------------------------------------

_FAILING_FIRST = {
    "package.json": (
        '{"name": "chained", "type": "module", "scripts": {"test": "node lint.js && node --test"}}'
    ),
    "lint.js": "console.error('lint: src/a.js:1 uses var');\nprocess.exit(1);\n",
    "src/a.js": "export const add = (a, b) => a + b;\n",
    "test/a.test.js": (
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
        'import { add } from "../src/a.js";\n\n'
        'test("adds", () => {\n  assert.equal(add(1, 2), 3);\n});\n'
    ),
}


def node_gate(repo: Path, runner: CommandRunner) -> tuple[StagedGate, ListRecorder]:
    recorder = ListRecorder()
    settings = GateSettings(verifiers=VerifierSettings(disable=sorted(set(BUILTIN) - {"node"})))
    gate = StagedGate(repo, base_ref="HEAD", runner=runner, settings=settings, recorder=recorder)
    return gate, recorder


def test_a_failure_there_at_the_base_never_hides_tests_that_the_change_broke(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    """Run whole, `lint && node --test` failed at its first command at both commits: the
    one finding was excused and a change that breaks a test passed the gate."""
    repo = make_repo(_FAILING_FIRST)
    (repo / "src" / "a.js").write_text("export const add = (a, b) => a - b;\n")
    gate, recorder = node_gate(repo, local_runner)
    result = gate.check()
    assert not result.ok
    assert result.message.startswith("Verification failed: node (1 problem)")
    assert "test/a.test.js:6: [test] adds:" in result.message
    assert recorder.gates[0]["could_not_run"] is False


def test_tests_that_never_ran_fail_the_gate_as_could_not_verify(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    """The runner cannot start (a preload that is not there) at both commits: no pass."""
    npmrc = {".npmrc": "node-options=--require ./missing-preload.cjs\n"}
    package = '{"name": "stops", "type": "module", "scripts": {"test": "node --test"}}'
    repo = make_repo({**_FAILING_FIRST, **npmrc, "package.json": package})
    (repo / "src" / "a.js").write_text("export const add = (a, b) => a - b;\n")
    gate, recorder = node_gate(repo, local_runner)
    result = gate.check()
    assert not result.ok
    assert result.message.startswith("Could not verify: node")
    assert "node test stage stopped early" in result.message
    assert recorder.gates[0]["could_not_run"] is True
