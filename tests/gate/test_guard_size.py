"""The size rule counts what a line count misses: binary files, lock files, generated files."""

from __future__ import annotations

import os
from pathlib import Path

from corral.gate.diff import compute_diff
from corral.gate.guard import GuardContext, run_guard
from corral.gate.settings import GuardSettings
from corral.testing.repos import MakeRepo


def guard(repo: Path, **settings: object) -> list[str]:
    """The size rule's vetoes (other rules, such as lock files changed, left out)."""
    ctx = GuardContext(compute_diff(repo, "HEAD"), GuardSettings.model_validate(settings))
    return [f.message for f in run_guard(ctx).vetoes if "over this campaign's limit" in f.message]


def test_a_random_binary_is_counted_by_its_size(make_repo: MakeRepo) -> None:
    repo = make_repo({"src/app.py": "x = 1\n"})
    (repo / "blob.bin").write_bytes(os.urandom(300_000))
    diff = compute_diff(repo, "HEAD")
    [blob] = diff.files
    assert (blob.binary, blob.changed_lines, blob.size) == (True, 0, 300_000)
    vetoes = guard(repo, max_diff_bytes=200_000)
    assert len(vetoes) == 1
    assert "writes 0.3 MB, over this campaign's limit of 0.2 MB (largest: blob.bin" in vetoes[0]
    assert guard(repo, max_diff_bytes=400_000) == []


def test_a_sparse_file_too_large_to_read_still_counts(make_repo: MakeRepo) -> None:
    """Over the diff's read cap, the content is not loaded; its size still counts."""
    repo = make_repo({"README.md": "x\n"})
    with (repo / "image.iso").open("wb") as handle:
        handle.truncate(6_000_000)  # sparse: no disk used
    [change] = compute_diff(repo, "HEAD").files
    assert (change.new_text, change.size) == (None, 6_000_000)
    [veto] = guard(repo, max_diff_bytes=5_000_000)
    assert "writes 6.0 MB" in veto


def test_lock_files_count_by_size_too(make_repo: MakeRepo) -> None:
    repo = make_repo({"package.json": "{}\n"})
    (repo / "package-lock.json").write_text('{"a": 1}\n' * 50_000)
    assert any("package-lock.json" in v for v in guard(repo, max_diff_bytes=100_000))
    assert guard(repo, max_diff_bytes=1_000_000) == []
