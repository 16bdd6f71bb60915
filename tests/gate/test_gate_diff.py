"""The change under review, from real git: untracked files in, build output and ignored
files out, renames paired, the user's index untouched."""

from __future__ import annotations

import pytest

from corral.gate.diff import DiffError, compute_diff
from corral.testing.repos import MakeRepo, git


def test_working_tree_against_base_without_touching_the_index(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            ".gitignore": "*.log\n",
            "src/app.py": "def f():\n    return 1\n",
            "tests/test_old_name.py": "def test_f():\n    assert 1\n" * 5,
            "logo.png": "\x89PNG\x00\x01",
            "gone.txt": "bye\n",
            "same_size.txt": "aaaa\n",
        }
    )
    (repo / "src/app.py").write_text("def f():\n    return 2\n")
    (repo / "same_size.txt").write_text("bbbb\n")  # same size, same second as the commit
    git(repo, "mv", "tests/test_old_name.py", "tests/test_new_name.py")
    (repo / "gone.txt").unlink()
    (repo / "new.py").write_text("x = 1\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "node_modules/pkg").mkdir(parents=True)
    (repo / "node_modules/pkg/index.js").write_text("build output\n")
    (repo / "src/__pycache__").mkdir()
    (repo / "src/__pycache__/app.cpython-311.pyc").write_bytes(b"\x00\x01")
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x02")
    status_before = git(repo, "status", "--porcelain")

    diff = compute_diff(repo, "HEAD")

    by_path = {f.path: f for f in diff.files}
    assert set(by_path) == {
        "src/app.py",
        "same_size.txt",
        "tests/test_new_name.py",
        "gone.txt",
        "new.py",
        "logo.png",
    }
    app = by_path["src/app.py"]
    assert app.status == "modified"
    assert app.added == ((2, "    return 2"),) and app.removed == ((2, "    return 1"),)
    assert app.old_text == "def f():\n    return 1\n" and app.new_text == "def f():\n    return 2\n"
    renamed = by_path["tests/test_new_name.py"]
    assert renamed.status == "renamed" and renamed.old_path == "tests/test_old_name.py"
    assert renamed.changed_lines == 0
    assert by_path["gone.txt"].status == "deleted" and by_path["gone.txt"].new_text is None
    assert by_path["new.py"].status == "added" and by_path["new.py"].added == ((1, "x = 1"),)
    assert by_path["logo.png"].binary and by_path["logo.png"].new_text is None
    assert "+    return 2" in diff.patch
    assert git(repo, "status", "--porcelain") == status_before


def test_tracked_files_below_build_output_folders_still_count(make_repo: MakeRepo) -> None:
    repo = make_repo({"build/config.py": "A = 1\n"})
    (repo / "build/config.py").write_text("A = 2\n")
    (repo / "build/generated.py").write_text("B = 1\n")
    diff = compute_diff(repo, "HEAD")
    assert [f.path for f in diff.files] == ["build/config.py"]


def test_a_ref_that_is_not_a_commit_is_refused(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a\n"})
    with pytest.raises(DiffError, match="not a commit"):
        compute_diff(repo, "no-such-branch")
