"""The command line as a user meets it: bad input is answered with exit code 2 and one clear
line (never a traceback), and what the commands print says what happened."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import corral, runtime_args, write_spec

from corral.states import JobState
from corral.store import Store
from corral.testing.repos import MakeRepo, make_remote, notes_repo


def assert_usage_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_verify_with_a_baseline_that_is_not_a_commit(make_repo: MakeRepo) -> None:
    repo = make_repo(notes_repo())

    done = corral("verify", str(repo), "--baseline", "no-such-ref", "--sandbox", "local")

    assert_usage_error(done, "no-such-ref")


def test_change_whose_command_fails_is_not_a_success(make_repo: MakeRepo) -> None:
    """The untouched repository passes the gate, but nothing was changed: exit 1, not 0."""
    repo = make_repo(notes_repo())

    done = corral("change", str(repo), "--command", "exit 3", "--json", "--sandbox", "local")

    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["status"]) == (False, "error")
    assert "exited 3" in report["reason"]


def test_logs_show_the_pull_request_and_its_state(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="notes",
        command="echo More. >> NOTES.md",
        targets={"repos": [str(remote)]},
    )
    assert corral("run", str(spec), *runtime_args(tmp_path)).returncode == 0

    done = corral("logs", "1", "--store", str(tmp_path / "corral.db"))

    assert done.returncode == 0, done.stderr
    assert f"pull request: {remote}#pr-1 (open), CI passed" in done.stdout


def test_a_store_that_cannot_be_opened_is_named_without_its_password() -> None:
    unreachable = "postgresql://corral:hunter2@127.0.0.1:1/corral"
    for argv in (["status"], ["serve", "--port", "1"], ["logs", "1"]):
        done = corral(*argv, "--store", unreachable)
        assert_usage_error(done, "cannot open the store", "127.0.0.1", "refused")
        assert "hunter2" not in done.stderr

    assert_usage_error(corral("status", "--store", "mysql://db/corral"), "SQLite", "PostgreSQL")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "name: x\ncommand: [unclosed\ntargets: {repos: [a]}\n",
            "spec.yaml:3:8: not valid YAML: expected ',' or ']', but got ':'",
        ),
        (
            "name: x\ncommand: a\ntargets:\n  repos:\n    - {repo: a.git, workspace: /etc}\n",
            "spec.yaml:5 targets.repos.0.workspace: must be a relative folder inside the "
            "repository",
        ),
        ("name: x\ntargets: {repos: [a]}\n", "spec.yaml:1 (top): give exactly one of prompt"),
    ],
    ids=["yaml", "repository-mapping", "no-change"],
)
def test_an_invalid_spec_is_named_by_place_and_reason(
    spec: str, expected: str, tmp_path: Path
) -> None:
    (tmp_path / "spec.yaml").write_text(spec)

    done = corral("run", str(tmp_path / "spec.yaml"), "--store", str(tmp_path / "corral.db"))

    assert_usage_error(done)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], done.stderr


def test_a_campaign_whose_model_has_no_key_starts_no_job(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="agentic",
        prompt="Add a line to the notes.",
        agent={"kind": "builtin", "model": {"provider": "openai", "model": "gpt-4.1"}},
        targets={"repos": [str(remote)]},
    )

    done = corral("run", str(spec), *runtime_args(tmp_path), env={"OPENAI_API_KEY": ""})

    assert_usage_error(done, "no API key for openai", "OPENAI_API_KEY")
    store = Store.open(str(tmp_path / "corral.db"))
    try:
        [job] = store.jobs(1)
    finally:
        store.close()
    assert job.state == JobState.QUEUED  # not cloned, not baselined: resumable once the key is set


def test_the_schema_describes_the_fields_a_spec_writer_needs() -> None:
    done = corral("schema")

    schema = json.loads(done.stdout)
    assert "monorepo" in schema["$defs"]["TargetSpec"]["properties"]["workspace"]["description"]
    assert "at once" in schema["properties"]["concurrency"]["description"]
