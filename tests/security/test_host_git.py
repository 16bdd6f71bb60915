"""corral's git on the host against a repository whose git directory hostile code wrote.

Each attack is run twice: once as plain git (as corral ran it before `corral.git`), where it
must succeed (the marker file appears, or the secret is dumped), and once through
`corral.git.run_git`, where it must not. So each test fails when its defence is taken away.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from corral.git import GitConfigRefused, run_git
from corral.git.command import git_text
from corral.git.worktree import working_tree
from corral.testing.repos import GIT_ENV, init_repo

SRC = Path(__file__).resolve().parents[2] / "src" / "corral"
FAKE_SECRETS = {
    "GITHUB_TOKEN": "ghp_FAKE_forge_token_0001",
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-model-key-0002",
    "CORRAL_DASHBOARD_TOKEN": "FAKE-dashboard-token-0003",
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    return FAKE_SECRETS


@pytest.fixture
def repo(tmp_path: Path, secrets: dict[str, str]) -> Path:
    return init_repo(tmp_path / "repo", {"a.txt": "one\n", "b.txt": "two\n"})


def plain_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git as corral ran it before: the caller's whole environment, nothing pinned."""
    import os

    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )


def config(repo: Path, key: str, value: str) -> None:
    subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)


def dump_command(marker: Path) -> str:
    """A shell command that records it ran, with the environment it saw."""
    return f"env > {marker}; cat"


Attack = Callable[[Path, Path], None]


def fsmonitor(repo: Path, marker: Path) -> None:
    config(repo, "core.fsmonitor", f"env > {marker}; false")


def clean_filter(repo: Path, marker: Path) -> None:
    config(repo, "filter.evil.clean", dump_command(marker))
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def textconv(repo: Path, marker: Path) -> None:
    config(repo, "diff.evil.textconv", f"env > {marker}; cat")
    (repo / ".gitattributes").write_text("*.txt diff=evil\n")
    (repo / "a.txt").write_text("changed\n")


def included_filter(repo: Path, marker: Path) -> None:
    extra = repo / ".git" / "extra.conf"
    extra.write_text(f'[filter "evil"]\n\tclean = {dump_command(marker)}\n')
    config(repo, "include.path", str(extra))
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def worktree_config(repo: Path, marker: Path) -> None:
    config(repo, "extensions.worktreeConfig", "true")
    (repo / ".git" / "config.worktree").write_text(
        f'[filter "evil"]\n\tclean = {dump_command(marker)}\n'
    )
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def nested_repository(repo: Path, marker: Path) -> None:
    """A change creates sub/.git (a folder the sandbox may write) with a filter of its own;
    once sub is in the index, git runs `git status` inside it."""
    sub = repo / "sub"
    sub.mkdir()
    subprocess.run(["git", "-C", str(sub), "init", "-q"], check=True)
    (sub / "f.txt").write_text("x\n")
    subprocess.run(["git", "-C", str(sub), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(sub), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "i"],
        check=True,
    )
    config(sub, "filter.evil.clean", dump_command(marker))
    (sub / ".gitattributes").write_text("* filter=evil\n")
    subprocess.run(["git", "-C", str(repo), "add", "sub"], check=True, capture_output=True)
    (sub / "f.txt").write_text("y\n")


REFUSED_ATTACKS: dict[str, tuple[Attack, tuple[str, ...]]] = {
    "fsmonitor command": (fsmonitor, ("status",)),
    "filter.clean": (clean_filter, ("add", "-A")),
    "diff textconv": (textconv, ("diff", "HEAD")),
    "include.path": (included_filter, ("add", "-A")),
    "worktree config": (worktree_config, ("add", "-A")),
    "nested repository": (nested_repository, ("status",)),
}


@pytest.mark.parametrize("name", REFUSED_ATTACKS)
def test_config_that_runs_code_works_on_plain_git_and_is_refused(
    name: str, repo: Path, tmp_path: Path, secrets: dict[str, str]
) -> None:
    attack, args = REFUSED_ATTACKS[name]
    marker = tmp_path / "marker"
    attack(repo, marker)

    plain_git(repo, *args)
    assert marker.is_file(), f"{name}: the attack does not work on plain git"
    assert secrets["GITHUB_TOKEN"] in marker.read_text(), "plain git passes the environment"
    marker.unlink()

    with pytest.raises(GitConfigRefused, match="could run a program"):
        run_git(args, repo=repo)
    with pytest.raises(GitConfigRefused):
        working_tree(repo)
    assert not marker.exists()


def test_hooks_run_under_plain_git_and_never_under_run_git(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text(f"#!/bin/sh\nenv > {marker}\n")
    hook.chmod(0o755)
    plain_git(repo, "commit", "-q", "--allow-empty", "-m", "plain")
    assert marker.is_file()
    marker.unlink()

    run_git(["commit", "-q", "--allow-empty", "-m", "hardened"], repo=repo, env=GIT_ENV)
    run_git(["update-ref", "refs/heads/other", "HEAD"], repo=repo)
    assert not marker.exists()


def test_a_hooks_path_in_the_tree_is_pinned_off(repo: Path, tmp_path: Path) -> None:
    """husky sets core.hooksPath in the repository's config: allowed, and never run."""
    marker = tmp_path / "marker"
    hooks = repo / ".husky"
    hooks.mkdir()
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (hooks / "pre-commit").chmod(0o755)
    config(repo, "core.hooksPath", ".husky")
    plain_git(repo, "commit", "-q", "--allow-empty", "-m", "plain")
    assert marker.is_file()
    marker.unlink()

    run_git(["commit", "-q", "--allow-empty", "-m", "hardened"], repo=repo, env=GIT_ENV)
    assert not marker.exists()


def test_builtin_fsmonitor_setting_is_allowed_and_pinned_off(repo: Path) -> None:
    config(repo, "core.fsmonitor", "true")
    assert git_text(["status", "--porcelain"], repo=repo) == ""


def test_git_gets_no_secret_even_from_a_filter_the_operator_trusts(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets: dict[str, str]
) -> None:
    """A filter in the operator's global config (git-lfs, say) runs; it sees no secret."""
    home = tmp_path / "home"
    home.mkdir()
    marker = tmp_path / "marker"
    (home / ".gitconfig").write_text(f'[filter "dump"]\n\tclean = {dump_command(marker)}\n')
    monkeypatch.setenv("HOME", str(home))
    (repo / ".gitattributes").write_text("* filter=dump\n")
    (repo / "a.txt").write_text("changed\n")

    plain_git(repo, "add", "-A")
    assert secrets["ANTHROPIC_API_KEY"] in marker.read_text()
    plain_git(repo, "reset", "-q")
    marker.unlink()

    working_tree(repo)
    seen = marker.read_text()
    assert not [name for name, value in secrets.items() if value in seen]


def test_a_credential_never_reaches_a_working_tree_command(repo: Path) -> None:
    auth = {"http.https://forge.invalid/.extraHeader": "Authorization: Basic FAKE"}
    with pytest.raises(ValueError, match="never passed to `git status`"):
        run_git(["status"], repo=repo, auth=auth)
    with pytest.raises(ValueError, match="working tree"):
        run_git(["fetch", "origin"], repo=repo, auth=auth)


def test_only_corral_git_starts_git() -> None:
    """No module outside corral/git/ spawns git: a new call cannot forget the defences."""
    spawn = re.compile(r"""[\[(]\s*["']git["']\s*,|which\(\s*["']git["']""")
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        if "git" not in path.relative_to(SRC).parts[:1]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if spawn.search(line)
    ]
    assert offenders == []
