"""Paths a repository controls: a committed symlink to .git, a workspace that is a symlink
out of the repository, a `.corral.yaml` that points elsewhere. Each is refused with a clear
reason, and the plain path operation the code did before is shown to escape."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.agents.tools import Toolbox
from corral.config import ConfigError, load_repo_config
from corral.llm.base import ToolCall
from corral.paths import PathEscapeError, resolve_inside
from corral.testing.cli import run_corral
from corral.testing.repos import GIT_ENV, init_repo, make_remote, notes_repo


def tool(tools: Toolbox, name: str, **arguments: Any) -> tuple[str, bool]:
    result = tools.run(ToolCall("id", name, arguments))
    return result.text, result.is_error


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo", {"README.md": "# r\n"})
    (root / "gitlink").symlink_to(".git")
    (root / "hooklink").symlink_to(".git/hooks/post-commit")
    return root


def test_a_symlink_to_git_is_a_way_in_for_plain_paths(repo: Path) -> None:
    """The check before: no `.git` in the path as written, inside the root once resolved."""
    written = (repo / "gitlink" / "config").resolve()
    assert ".git" not in Path("gitlink/config").parts
    assert written.is_relative_to(repo.resolve())
    assert written == (repo / ".git" / "config").resolve()


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("write_file", {"path": "gitlink/config", "content": "[core]\n\tfsmonitor = touch /x\n"}),
        ("write_file", {"path": "hooklink", "content": "#!/bin/sh\ntouch /x\n"}),
        ("edit_file", {"path": "gitlink/config", "old": "[core]", "new": "[core]\n"}),
        ("read_file", {"path": "gitlink/config"}),
        ("list_files", {"path": "gitlink"}),
        ("search", {"pattern": "core", "path": "gitlink"}),
    ],
)
def test_tools_refuse_paths_into_git_through_a_symlink(
    repo: Path, name: str, arguments: dict[str, Any]
) -> None:
    before = (repo / ".git" / "config").read_text()
    text, is_error = tool(Toolbox(repo, verify=lambda: "ok"), name, **arguments)
    assert is_error, text
    assert ".git" in text
    assert (repo / ".git" / "config").read_text() == before
    assert not (repo / ".git" / "hooks" / "post-commit").exists()


def test_search_from_the_root_skips_files_linked_from_git(repo: Path) -> None:
    (repo / "configlink").symlink_to(".git/config")
    text, is_error = tool(Toolbox(repo, verify=lambda: "ok"), "search", pattern="repositoryformat")
    assert not is_error
    assert "configlink" not in text


def test_resolve_inside_refuses_escapes_and_git(tmp_path: Path, repo: Path) -> None:
    (repo / "svc").symlink_to("/")
    (repo / "up").symlink_to("..")
    (repo / "real").mkdir()
    assert resolve_inside(repo, "real", "w") == (repo / "real").resolve()
    for escape in ("svc", "up", "up/repo/../..", "gitlink"):
        with pytest.raises(PathEscapeError, match="leads"):
            resolve_inside(repo, escape, f"the workspace folder {escape!r}")


def test_a_corral_yaml_linked_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "operator-only.yaml"
    outside.write_text("verifiers:\n  disable: [python]\n")
    root = init_repo(tmp_path / "linked", {"README.md": "x\n"})
    (root / ".corral.yaml").symlink_to(outside)
    assert (root / ".corral.yaml").read_text() == outside.read_text()  # plain read: escapes
    with pytest.raises(ConfigError, match="leads outside the repository"):
        load_repo_config(root)


def test_corral_verify_on_a_linked_corral_yaml_fails_clearly(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("verifiers:\n  disable: [python]\n")
    root = init_repo(tmp_path / "linked", {"README.md": "x\n"})
    (root / ".corral.yaml").symlink_to(outside)
    done = run_corral("verify", root, "--sandbox", "local", timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert ".corral.yaml leads outside the repository" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_symlinked_workspace_fails_the_job_and_binds_nothing(tmp_path: Path) -> None:
    """`svc -> /` as a monorepo workspace: the job fails at prepare, naming the reason."""
    forge = tmp_path / "forge"
    seed = tmp_path / "seed"
    init_repo(seed, notes_repo())
    (seed / "svc").symlink_to("/")
    subprocess.run(["git", "-C", str(seed), "add", "svc"], check=True)
    subprocess.run(
        ["git", "-C", str(seed), "commit", "-qm", "svc"], check=True, env={**os.environ, **GIT_ENV}
    )
    remote = make_remote(forge, "mono", notes_repo())
    push = ["git", "-C", str(seed), "push", "-qf", str(remote), "main"]
    subprocess.run(push, check=True, capture_output=True)
    marker = tmp_path / "ran-at-root"
    spec = tmp_path / "spec.yaml"
    target = {"repo": str(remote), "workspace": "svc"}
    spec.write_text(
        json.dumps({"name": "svc", "command": f"touch {marker}", "targets": {"repos": [target]}})
    )
    runtime = ["--store", str(tmp_path / "c.db"), "--work-dir", str(tmp_path / "work")]
    runtime += ["--cache-dir", str(tmp_path / "cache"), "--sandbox", "local"]
    done = run_corral("run", spec, "--json", *runtime, timeout=300)
    jobs = json.loads(done.stdout)["jobs"]
    assert [job["state"] for job in jobs] == ["failed"], done.stdout
    assert "the workspace folder 'svc' leads outside the repository" in jobs[0]["reason"]
    assert not marker.exists()
