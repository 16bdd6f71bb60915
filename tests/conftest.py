"""Fixtures shared by the whole suite: real git repositories and warm dependency caches."""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.git import command
from corral.sandbox.base import CommandRunner
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, init_repo


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """make_repo(files, name="repo", commit=True): a real git repository with those files."""

    def _make(files: dict[str, str], name: str = "repo", commit: bool = True) -> Path:
        return init_repo(tmp_path / name, files, commit=commit)

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
def spawned(monkeypatch: pytest.MonkeyPatch) -> Iterator[collections.Counter[str]]:
    """git processes started through corral's one entry point, by subcommand."""
    counts: collections.Counter[str] = collections.Counter()
    spawn = command._spawn

    def counted(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        counts[command._command(argv)] += 1
        return spawn(argv, *args, **kwargs)

    monkeypatch.setattr(command, "_spawn", counted)
    yield counts


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


SLOW_FIXTURES = frozenset({"cache_dir", "temporal_address", "demo", "postgres_server"})
"""Fixtures that mean real toolchains, a Temporal server, the demo campaign or PostgreSQL:
a test that uses one is `slow`, outside the fast lane (`pytest -m "not slow"`)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
