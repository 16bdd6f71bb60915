"""Fixtures shared by the whole suite: real git repositories and warm dependency caches."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from corral.sandbox.base import CommandRunner
from corral.sandbox.local import LocalRunner

MakeRepo = Callable[..., Path]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "corral-tests",
    "GIT_AUTHOR_EMAIL": "tests@corral.invalid",
    "GIT_COMMITTER_NAME": "corral-tests",
    "GIT_COMMITTER_EMAIL": "tests@corral.invalid",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """make_repo(files, name="repo", commit=True): a real git repository with those files."""

    def _make(files: dict[str, str], name: str = "repo", commit: bool = True) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")
        write_files(root, files)
        if commit:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "initial")
        return root

    return _make


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """Dependency caches kept between runs on one machine, so the suite stays fast."""
    path = Path(
        os.environ.get("CORRAL_TEST_CACHE", Path.home() / ".cache" / "corral" / "test-caches")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def local_runner(cache_dir: Path) -> CommandRunner:
    return LocalRunner(cache_dir)


@pytest.fixture
def fake_model_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    """API keys for the fake model server (real SDKs refuse to start without one)."""
    key = "sk-fake-test-key-0123456789"
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, key)
    for name in ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return key
