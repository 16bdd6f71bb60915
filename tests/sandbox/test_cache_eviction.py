"""Per-repository caches unused for a while are removed, the ones in use never."""

from __future__ import annotations

import os
import time
from pathlib import Path

from corral.sandbox import BwrapRunner, cache_eviction
from corral.sandbox.cache_eviction import STAMP, UNUSED_FOR_S, evict_unused, mark_used

LONG_AGO = time.time() - UNUSED_FOR_S - 3600


def cache(repos: Path, name: str, *, used_at: float | None = None) -> Path:
    folder = repos / name
    (folder / "go" / "mod").mkdir(parents=True)
    (folder / "go" / "mod" / "module.zip").write_text("x")
    if used_at is not None:
        os.utime(folder, (used_at, used_at))
    return folder


def test_caches_unused_for_long_are_removed_and_recent_ones_kept(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    old = cache(repos, "old", used_at=LONG_AGO)
    recent = cache(repos, "recent")
    half_removed = cache(repos, ".evicting-gone-1234abcd", used_at=time.time())
    outside = cache(tmp_path, "outside", used_at=LONG_AGO)
    (repos / "linked").symlink_to(outside)

    assert evict_unused(repos) == ["old"]

    assert not old.exists() and not half_removed.exists()
    assert (recent / "go" / "mod" / "module.zip").exists()
    assert (outside / "go" / "mod" / "module.zip").exists()  # a link is never followed
    assert sorted(p.name for p in repos.iterdir()) == [STAMP, "linked", "recent"]


def test_the_caches_are_looked_at_once_in_a_while(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    cache(repos, "a")
    assert evict_unused(repos) == []
    cache(repos, "old", used_at=LONG_AGO)

    assert evict_unused(repos) == []  # checked just now
    os.utime(repos / STAMP, (LONG_AGO, LONG_AGO))
    assert evict_unused(repos) == ["old"]


def test_a_cache_marked_used_is_kept_and_an_evicted_one_comes_back_empty(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    folder = cache(repos, "a", used_at=LONG_AGO)
    mark_used(folder)
    assert evict_unused(repos) == []
    os.utime(folder, (LONG_AGO, LONG_AGO))
    os.utime(repos / STAMP, (LONG_AGO, LONG_AGO))
    assert evict_unused(repos) == ["a"]

    mark_used(folder)
    assert folder.is_dir() and not any(folder.iterdir())


def test_a_runner_marks_its_repositorys_cache_at_each_command_and_evicts_old_ones(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    cache_root = tmp_path / "cache"
    stale = cache(cache_root / "repos", "stale", used_at=LONG_AGO)
    runner = BwrapRunner(workspace, cache_root, home_root=tmp_path / "homes")
    assert not stale.exists()
    os.utime(runner.cache_dir, (LONG_AGO, LONG_AGO))

    assert runner.run(["true"], cwd=workspace).ok
    assert runner.cache_dir.stat().st_mtime > time.time() - 600
    assert cache_eviction.evict_unused(cache_root / "repos", unused_for_s=0) == []  # stamped
