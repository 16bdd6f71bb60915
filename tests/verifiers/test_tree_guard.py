"""Verifiers leave the checkout as they found it: the tree is compared before and after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corral.git import command
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, git
from corral.verifiers import FindingKind, verify
from corral.verifiers.tree_guard import TreeGuard

# A checker that "fixes" what it checks, builds into dist/, and leaves a generated file.
_MESSY = (
    "echo 'fixed by the tool' > NOTES.md; mkdir -p dist node_modules/pkg; "
    "echo built > dist/out.js; echo cached > node_modules/pkg/index.js; "
    "echo \"version = '1.0'\" > _version.py; true"
)


def _config(command: str) -> str:
    spec = {
        "name": "messy",
        "activate": "NOTES.md",
        "command": ["sh", "-c", command],
        "pattern": r"^(?P<file>[^:]+):(?P<line>\d+):(?P<message>.*)$",
    }
    return json.dumps({"verifiers": {"custom": [spec]}})


def test_a_verifier_that_writes_to_the_checkout_is_undone_and_reported(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo(
        {
            ".corral.yaml": _config(_MESSY),
            ".gitignore": "dist/\nnode_modules/\n",
            "NOTES.md": "Release notes.\n",
        }
    )
    (repo / "NOTES.md").write_text("The agent's uncommitted edit.\n")
    report = verify(repo, LocalRunner(tmp_path / "cache"))
    [result] = report.results
    [finding] = result.findings
    assert (finding.kind, finding.file) == (FindingKind.ERROR, "NOTES.md")
    assert finding.message.startswith("the messy verifier changed this file in the checkout")
    assert not report.ok
    # The agent's edit is back, not the committed text; what the verifier made is gone
    # except its dependency cache.
    assert (repo / "NOTES.md").read_text() == "The agent's uncommitted edit.\n"
    assert not (repo / "dist").exists()
    assert not (repo / "_version.py").exists()
    assert (repo / "node_modules" / "pkg" / "index.js").is_file()
    assert git(repo, "status", "--porcelain") == " M NOTES.md\n"


def test_a_verifier_that_writes_nothing_passes_untouched(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo({".corral.yaml": _config("true"), "NOTES.md": "Release notes.\n"})
    (repo / "scratch.txt").write_text("the agent's new file\n")
    report = verify(repo, LocalRunner(tmp_path / "cache"))
    assert report.ok, report.message
    assert (repo / "scratch.txt").is_file()  # untracked files the agent made stay


def test_an_edit_of_the_same_size_right_after_a_commit_is_seen_as_the_agents(
    make_repo: MakeRepo,
) -> None:
    """git's stat cache cannot tell a same-size edit made in the commit's second from the
    committed file; the guard must not take the committed text for the agent's and put it
    "back" over the edit (that turned a failing test into a pass)."""
    repo = make_repo({"a.txt": "expected = 2.5\n"})
    (repo / "a.txt").write_text("expected = 2.0\n")
    guard = TreeGuard(repo)
    before = guard.snapshot()
    git(repo, "status", "--porcelain")  # a verifier's own git call refreshes the real index
    assert guard.restore(before, "noop") == []
    assert (repo / "a.txt").read_text() == "expected = 2.0\n"


def test_two_verifiers_are_guarded_with_one_snapshot_between_them(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The state after putting the first verifier's writes back is the second one's before:
    what the second writes is still caught and named after it, and the first one's kept
    dependency cache is not taken for the second one's."""
    first = {"name": "first", "activate": "NOTES.md", "command": ["sh", "-c", _MESSY]}
    second = {
        "name": "second",
        "activate": "NOTES.md",
        "command": ["sh", "-c", "echo again > NOTES.md; echo x > node_modules/pkg/more.js"],
    }
    for spec in (first, second):
        spec["pattern"] = r"^(?P<file>[^:]+):(?P<line>\d+):(?P<message>.*)$"
    repo = make_repo(
        {
            ".corral.yaml": json.dumps({"verifiers": {"custom": [first, second]}}),
            ".gitignore": "dist/\nnode_modules/\n",
            "NOTES.md": "Release notes.\n",
        }
    )
    report = verify(repo, LocalRunner(tmp_path / "cache"))
    named = sorted(
        (r.name, f.file, f.message.split(" this file")[0])
        for r in report.results
        for f in r.findings
    )
    assert named == [
        ("first", "NOTES.md", "the first verifier changed"),
        ("second", "NOTES.md", "the second verifier changed"),
    ]
    assert (repo / "NOTES.md").read_text() == "Release notes.\n"
    assert (repo / "node_modules" / "pkg" / "more.js").is_file()
    guard = TreeGuard(repo)
    assert guard.settle(guard.snapshot(), "noop") == ([], guard.snapshot())


def test_a_verifier_that_changed_nothing_costs_one_sequence_per_snapshot_and_no_diff(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The git folder is found without git, a snapshot is one checked sequence (one listing
    of nested repositories, then add, write-tree and status), and nothing changed means no
    diff-tree: the guard runs around every verifier of every verify."""
    repo = make_repo({"a.txt": "a\n"})
    calls: list[str] = []
    spawn = command._spawn

    def recording(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(command._command(argv))
        return spawn(argv, *args, **kwargs)

    monkeypatch.setattr(command, "_spawn", recording)
    guard = TreeGuard(repo)
    before = guard.snapshot()
    assert guard.settle(before, "noop") == ([], before)
    assert calls == ["ls-files", "add", "write-tree", "status"] * 2
    (repo / "a.txt").write_text("changed\n")
    findings, _ = guard.settle(before, "writer")
    assert [f.file for f in findings] == ["a.txt"] and "diff-tree" in calls
    assert (repo / "a.txt").read_text() == "a\n"
