"""The six tools on a real folder: confinement, exact edits, caps, and errors as results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from corral.agents.tools import Toolbox, ToolResult
from corral.llm.base import ToolCall


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def greet():\n    return 'hello'\n\n\nx = 1\nx = 1\n")
    (root / "README.md").write_text("# demo\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("hello from a dependency\n")
    (tmp_path / "secret.txt").write_text("hello outside\n")
    return root


@pytest.fixture
def tools(workspace: Path) -> Toolbox:
    return Toolbox(workspace, verify=lambda: "All checks passed (custom).")


def run(tools: Toolbox, name: str, arguments: dict[str, Any] | None, **call: Any) -> ToolResult:
    return tools.run(ToolCall("id", name, arguments, **call))


def test_the_six_tools_are_offered_with_schemas(tools: Toolbox) -> None:
    specs = {spec.name: spec for spec in tools.specs}
    assert list(specs) == ["read_file", "list_files", "search", "edit_file", "write_file", "verify"]
    assert specs["edit_file"].input_schema["required"] == ["path", "old", "new"]
    assert specs["verify"].input_schema["properties"] == {}
    assert all(spec.description for spec in specs.values())


def test_read_list_and_search(tools: Toolbox) -> None:
    assert run(tools, "read_file", {"path": "src/app.py", "start_line": 2, "end_line": 2}) == (
        ToolResult("    return 'hello'\n")
    )
    listing = run(tools, "list_files", {}).text.splitlines()
    assert listing == ["README.md", "src/app.py"], "dependency and .git folders are skipped"
    assert run(tools, "search", {"pattern": "hello"}).text == "src/app.py:2: return 'hello'"
    regex = run(tools, "search", {"pattern": r"^x = \d$", "regex": True}).text
    assert regex.splitlines() == ["src/app.py:5: x = 1", "src/app.py:6: x = 1"]
    assert run(tools, "search", {"pattern": "nowhere"}).text == "No match for 'nowhere'."


def test_edit_file_replaces_exactly_one_occurrence(tools: Toolbox, workspace: Path) -> None:
    result = run(tools, "edit_file", {"path": "src/app.py", "old": "'hello'", "new": "'hi'"})
    assert result == ToolResult("Edited src/app.py.")
    assert "return 'hi'" in (workspace / "src" / "app.py").read_text()
    assert tools.edits == 1


def test_edit_file_refuses_missing_and_ambiguous_text(tools: Toolbox, workspace: Path) -> None:
    before = (workspace / "src" / "app.py").read_text()
    missing = run(tools, "edit_file", {"path": "src/app.py", "old": "bye", "new": "x"})
    several = run(tools, "edit_file", {"path": "src/app.py", "old": "x = 1", "new": "x = 2"})
    assert missing.is_error and "`old` was not found in src/app.py" in missing.text
    assert several.is_error and "`old` occurs 2 times in src/app.py" in several.text
    assert (workspace / "src" / "app.py").read_text() == before
    assert tools.edits == 0


def test_write_file_creates_folders(tools: Toolbox, workspace: Path) -> None:
    assert run(tools, "write_file", {"path": "docs/new.md", "content": "hi\n"}).text == (
        "Created docs/new.md."
    )
    assert (workspace / "docs" / "new.md").read_text() == "hi\n"


def test_verify_returns_the_gate_message(tools: Toolbox) -> None:
    assert run(tools, "verify", {}) == ToolResult("All checks passed (custom).")


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file", {"path": "../secret.txt"}, "`..` is not allowed"),
        ("read_file", {"path": "src/../../secret.txt"}, "`..` is not allowed"),
        ("read_file", {"path": "/etc/passwd"}, "use a path relative to the repository root"),
        ("write_file", {"path": "/tmp/x", "content": ""}, "use a path relative"),
        ("list_files", {"path": ".."}, "`..` is not allowed"),
        ("search", {"pattern": "hello", "path": "../"}, "`..` is not allowed"),
        ("edit_file", {"path": ".git/config", "old": "core", "new": "x"}, ".git folder is off"),
    ],
)
def test_paths_outside_the_workspace_are_refused(
    tools: Toolbox, name: str, arguments: dict[str, Any], expected: str
) -> None:
    result = run(tools, name, arguments)
    assert result.is_error
    assert expected in result.text


def test_symlinks_leading_outside_are_refused(tools: Toolbox, workspace: Path) -> None:
    outside = workspace.parent
    os.symlink(outside / "secret.txt", workspace / "link.txt")
    os.symlink(outside, workspace / "escape")
    for name, arguments in [
        ("read_file", {"path": "link.txt"}),
        ("write_file", {"path": "link.txt", "content": "pwned"}),
        ("edit_file", {"path": "link.txt", "old": "hello", "new": "pwned"}),
        ("write_file", {"path": "escape/new.txt", "content": "pwned"}),
        ("list_files", {"path": "escape"}),
    ]:
        result = run(tools, name, arguments)
        assert result.is_error, (name, arguments)
        assert "leads outside the repository" in result.text
    assert (outside / "secret.txt").read_text() == "hello outside\n"
    assert not (outside / "new.txt").exists()
    hits = run(tools, "search", {"pattern": "hello outside"})
    assert hits.text == "No match for 'hello outside'.", "search must not follow the link out"


def test_malformed_calls_become_error_results(tools: Toolbox) -> None:
    unknown = run(tools, "run_shell", {"cmd": "ls"})
    broken = run(tools, "read_file", None, raw_arguments='{"path"', error="not valid JSON")
    missing = run(tools, "edit_file", {"path": "src/app.py", "old": "x"})
    wrong_type = run(tools, "read_file", {"path": "src/app.py", "start_line": "two"})
    assert unknown.is_error and "Unknown tool 'run_shell'. The tools are: read_file" in unknown.text
    assert broken == ToolResult("Bad call to read_file: not valid JSON", True)
    assert missing.is_error and "Bad arguments for edit_file: new: Field required" in missing.text
    assert wrong_type.is_error and "start_line" in wrong_type.text


def test_every_result_is_capped(workspace: Path) -> None:
    (workspace / "big.txt").write_text("".join(f"line {n}\n" for n in range(5000)))
    tools = Toolbox(workspace, verify=lambda: "x" * 5000, max_result_chars=1000)
    page = run(tools, "read_file", {"path": "big.txt"}).text
    assert len(page) <= 1000
    assert page.startswith("line 0\n")
    next_line = int(page.rsplit("start_line=", 1)[1].rstrip("]"))
    assert f"line {next_line - 2}\n" in page and f"line {next_line - 1}\n" not in page
    assert run(tools, "read_file", {"path": "big.txt", "start_line": next_line}).text.startswith(
        f"line {next_line - 1}\n"
    )
    assert len(run(tools, "search", {"pattern": "line"}).text) <= 1100
    verify = run(tools, "verify", {}).text
    assert verify.endswith("[... 4000 characters cut]")
