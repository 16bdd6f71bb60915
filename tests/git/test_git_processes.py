"""How many git processes corral starts for the work every job repeats: counts, never times
(bench/fleet.py prints what they cost). Each count is next to the behaviour it must keep."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from corral.forge.base import ForgeError
from corral.forge.git import WORK_BRANCH, clean_checkout
from corral.git import GitConfigRefused, run_git
from corral.git.worktree import commit_tree, working_tree
from corral.testing.repos import GIT_ENV, git, init_repo, make_remote

Counts = collections.Counter[str]


def test_the_working_tree_is_one_check_and_three_commands(tmp_path: Path, spawned: Counts) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "a\n", "target/kept.txt": "tracked\n"})
    (repo / ".gitignore").write_text("ignored.txt\n")
    (repo / "ignored.txt").write_text("not part of the change\n")
    (repo / "new.txt").write_text("untracked, part of the change\n")
    (repo / "target" / "kept.txt").write_text("a tracked file below build output changed\n")
    (repo / "target" / "out.bin").write_text("build output\n")
    git(repo, "status")  # the config is checked and remembered, as in a job
    spawned.clear()

    tree = working_tree(repo)

    # the nested-repository listing once, add -A, add -u, write-tree; no rev-parse for the
    # index, no second listing
    assert sum(spawned.values()) == 4, spawned
    assert spawned["ls-files"] == 1 and spawned["add"] == 2
    listed = git(repo, "ls-tree", "-r", "--name-only", tree).splitlines()
    assert sorted(listed) == [".gitignore", "a.txt", "new.txt", "target/kept.txt"]
    kept = git(repo, "cat-file", "blob", f"{tree}:target/kept.txt")
    assert kept == "a tracked file below build output changed\n"


def test_without_tracked_build_output_the_working_tree_is_one_check_and_two_commands(
    tmp_path: Path, spawned: Counts
) -> None:
    """`add -u` only re-adds tracked files below build folders, which the first add leaves
    out: a repository tracking none is listed, added and written, and its edits, deletions
    and new files are all in the tree, its untracked build output not."""
    repo = init_repo(tmp_path / "r", {"a.txt": "a\n", "gone.txt": "g\n", "src/m.py": "x\n"})
    (repo / "a.txt").write_text("edited\n")
    (repo / "gone.txt").unlink()
    (repo / "new.txt").write_text("new\n")
    (repo / "target").mkdir()
    (repo / "target" / "out.bin").write_text("build output\n")
    (repo / "src" / "m.pyc").write_text("build output\n")
    git(repo, "status")
    spawned.clear()

    tree = working_tree(repo)

    assert sum(spawned.values()) == 3 and spawned["add"] == 1, spawned
    listed = git(repo, "ls-tree", "-r", "--name-only", tree).splitlines()
    assert sorted(listed) == ["a.txt", "new.txt", "src/m.py"]
    assert git(repo, "cat-file", "blob", f"{tree}:a.txt") == "edited\n"


def test_a_tracked_file_below_a_build_folder_in_any_case_is_still_updated(
    tmp_path: Path, spawned: Counts
) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "a\n", "Dist/kept.txt": "tracked\n"})
    (repo / "Dist" / "kept.txt").write_text("changed\n")
    spawned.clear()

    tree = working_tree(repo)

    assert spawned["add"] == 2, spawned  # the second add runs: a build folder's name, any case
    assert git(repo, "cat-file", "blob", f"{tree}:Dist/kept.txt") == "changed\n"


def test_one_check_still_refuses_a_nested_repository_made_before_it(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "a\n"})
    sub = init_repo(repo / "sub", {"f.txt": "x\n"})
    git(sub, "config", "filter.evil.clean", "touch /tmp/corral-never")
    with pytest.raises(GitConfigRefused):
        working_tree(repo)


def test_commit_tree_with_the_parent_given_starts_no_rev_parse(
    tmp_path: Path, spawned: Counts
) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "a\n"})
    (repo / "b.txt").write_text("b\n")
    tree = working_tree(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    spawned.clear()

    sha = commit_tree(repo, tree, "add b", GIT_ENV, parent=head)

    assert spawned["rev-parse"] == 0 and sum(spawned.values()) == 4, spawned
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "status", "--porcelain").strip() == ""  # the index is the commit's


def test_a_bare_repositorys_config_is_read_once_until_it_changes(
    tmp_path: Path, spawned: Counts
) -> None:
    bare = make_remote(tmp_path / "forge", "mirror", {"a.txt": "a\n"})
    spawned.clear()
    for _ in range(3):
        run_git(["for-each-ref"], repo=bare)
    assert spawned["config"] == 1, spawned

    with (bare / "config").open("a") as config:
        config.write('[credential]\n\thelper = "!touch /tmp/corral-never"\n')
    with pytest.raises(GitConfigRefused):
        run_git(["for-each-ref"], repo=bare)


def test_a_folder_git_would_not_take_for_a_bare_repository_is_never_remembered(
    tmp_path: Path, spawned: Counts
) -> None:
    """Its HEAD is not one git accepts: git works in the repository above, whose config the
    stamp of this folder's files would not follow."""
    outer = init_repo(tmp_path / "outer", {"a.txt": "a\n"})
    fake = outer / "fake"
    (fake / "objects").mkdir(parents=True)
    (fake / "refs").mkdir()
    (fake / "HEAD").write_text("not a ref\n")
    (fake / "config").write_text("")
    spawned.clear()
    for _ in range(2):
        run_git(["rev-parse", "HEAD"], repo=fake)
    assert spawned["config"] == 2, spawned


def test_a_fresh_checkout_is_cloned_listed_and_checked_out_once(
    tmp_path: Path, spawned: Counts
) -> None:
    remote = make_remote(tmp_path / "forge", "r", {"a.txt": "a\n"})
    dest = tmp_path / "checkout"
    spawned.clear()

    checkout = clean_checkout(str(remote), dest)

    assert spawned["clone"] == spawned["checkout"] == spawned["for-each-ref"] == 1, spawned
    assert spawned["clean"] == spawned["rev-parse"] == spawned["symbolic-ref"] == 0, spawned
    assert checkout.base_branch == "main"
    assert checkout.base_sha == git(remote, "rev-parse", "main").strip()
    assert (dest / "a.txt").read_text() == "a\n"
    assert git(dest, "symbolic-ref", "--short", "HEAD").strip() == WORK_BRANCH
    # no upstream written: the config read before the checkout is still the one
    assert "corral-work" not in (dest / ".git" / "config").read_text()


def test_an_existing_checkout_is_fetched_reset_and_cleaned(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "forge", "r", {"a.txt": "a\n"})
    dest = tmp_path / "checkout"
    clean_checkout(str(remote), dest)
    (dest / "a.txt").write_text("edited\n")
    (dest / "stray.txt").write_text("left by a change\n")
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(remote), str(seed))
    git(seed, "checkout", "-q", "-b", "release")
    (seed / "b.txt").write_text("b\n")
    git(seed, "add", "b.txt")
    git(seed, "commit", "-q", "-m", "b")
    git(seed, "push", "-q", "origin", "release")

    checkout = clean_checkout(str(remote), dest, "release")

    assert checkout.base_branch == "release"
    assert checkout.base_sha == git(seed, "rev-parse", "HEAD").strip()
    assert (dest / "a.txt").read_text() == "a\n" and (dest / "b.txt").is_file()
    assert not (dest / "stray.txt").exists()


def test_a_broken_checkout_is_cloned_again_and_a_missing_base_is_an_error(
    tmp_path: Path,
) -> None:
    remote = make_remote(tmp_path / "forge", "r", {"a.txt": "a\n"})
    dest = tmp_path / "checkout"
    (dest / ".git").mkdir(parents=True)  # not a repository
    assert clean_checkout(str(remote), dest).base_branch == "main"
    with pytest.raises(ForgeError, match="no branch 'nope'"):
        clean_checkout(str(remote), dest, "nope")
    empty = tmp_path / "forge" / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    with pytest.raises(ForgeError, match="no default branch"):
        clean_checkout(str(empty), tmp_path / "empty-checkout")


def test_a_sound_checkout_whose_remote_does_not_answer_is_kept(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "forge", "r", {"a.txt": "a\n"})
    dest = tmp_path / "checkout"
    clean_checkout(str(remote), dest)
    (dest / "kept.txt").write_text("an install the next try reuses\n")
    moved = remote.rename(tmp_path / "elsewhere.git")
    with pytest.raises(ForgeError):
        clean_checkout(str(remote), dest)
    assert (dest / "kept.txt").is_file()
    moved.rename(remote)
    clean_checkout(str(remote), dest)
    assert not (dest / "kept.txt").exists()
