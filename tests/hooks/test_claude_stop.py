"""`corral hook claude-stop` as Claude Code runs it: JSON on stdin, a decision on stdout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from corral.agents.gate_link import GateServer, JobFile
from corral.testing.repos import write_files
from surface_helpers import (
    CORRAL,
    CountingGate,
    failing_change,
    go_repo,
    local_gate,
    passing_change,
    surface_args,
)


def stop_input(cwd: Path, *, active: bool = False) -> str:
    """What Claude Code writes on the Stop hook's stdin."""
    return json.dumps(
        {
            "session_id": "4b1c8d6e-0000-4000-8000-000000000000",
            "transcript_path": str(cwd.parent / "transcript.jsonl"),
            "cwd": str(cwd),
            "permission_mode": "dontAsk",
            "hook_event_name": "Stop",
            "stop_hook_active": active,
        }
    )


def run_hook(stdin: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CORRAL, "hook", "claude-stop", *options],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return go_repo(tmp_path / "repo")


def test_a_failing_gate_blocks_with_its_message(repo: Path, cache_dir: Path) -> None:
    write_files(repo, failing_change())

    done = run_hook(stop_input(repo), *surface_args(cache_dir))

    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision == {"decision": "block", "reason": local_gate(repo, cache_dir).check().message}
    assert "calc/calc_test.go:11" in decision["reason"]


def test_a_passing_gate_lets_the_agent_stop(repo: Path, cache_dir: Path) -> None:
    write_files(repo, passing_change())

    done = run_hook(stop_input(repo, active=True), *surface_args(cache_dir))

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_the_job_file_reaches_the_backends_own_gate(
    repo: Path, tmp_path: Path, cache_dir: Path
) -> None:
    gate = CountingGate(local_gate(repo, cache_dir))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    write_files(repo, failing_change())
    with GateServer(gate, repo, private) as job:
        blocked = run_hook(stop_input(repo), "--job", str(job))
        write_files(repo, passing_change())
        allowed = run_hook(stop_input(repo, active=True), "--job", str(job))

    assert json.loads(blocked.stdout)["decision"] == "block"
    assert "calc/calc_test.go:11" in json.loads(blocked.stdout)["reason"]
    assert (allowed.returncode, allowed.stdout) == (0, "")
    assert len(gate.results) == 2  # both answers came from the backend's gate, none built anew
    assert not JobFile.load(job).socket.exists()  # the server cleans up after itself


def test_an_unreachable_gate_blocks(tmp_path: Path, repo: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(JobFile(workspace=repo, socket=tmp_path / "gone.sock").model_dump_json())

    done = run_hook(stop_input(repo), "--job", str(job))

    decision = json.loads(done.stdout)
    assert decision["decision"] == "block"
    assert decision["reason"].startswith("The gate could not run")


@pytest.mark.parametrize(
    ("stdin", "options", "expected"),
    [
        ("not json", ["--base", "main"], "not a Claude Code Stop-hook input"),
        ('{"session_id": "s"}', ["--base", "main"], "cwd"),
        (stop_input(Path("/tmp")), ["--job", "/nonexistent/job.json"], "cannot read the job file"),
    ],
)
def test_bad_input_is_refused(stdin: str, options: list[str], expected: str) -> None:
    done = run_hook(stdin, *options)

    assert done.returncode == 2
    assert done.stdout == ""
    assert expected in done.stderr


def test_no_base_named_judges_head_without_an_upstream(repo: Path, cache_dir: Path) -> None:
    done = run_hook(stop_input(repo), "--sandbox", "local", "--cache-dir", str(cache_dir))

    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert "against HEAD (the branch has no upstream)" in " ".join(done.stderr.split())


def test_no_base_outside_a_repository_is_refused(tmp_path: Path) -> None:
    done = run_hook(stop_input(tmp_path))

    assert done.returncode == 2
    assert "'HEAD' is not a commit" in done.stderr
