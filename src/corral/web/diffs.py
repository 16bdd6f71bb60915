"""A job's diff, for reading: from its commit when it has one, else from its checkout's
working tree (a change the gate refused is left there uncommitted). The store keeps no
diffs, so a job whose checkout is gone shows none, and says why.

Opening a page must not run anything a repository controls: git runs through corral's
hardened entry point (which refuses a checkout whose config names a program), with no
textconv and no external diff, and never stages anything. Untracked files are read here,
as regular files only (a symlink shows its target, as git shows it, and is not followed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from unidiff.patch import Hunk, PatchedFile, PatchSet

from corral.git.command import GitCommandError, git_text
from corral.git.worktree import is_build_output
from corral.paths import PathEscapeError, resolve_inside
from corral.store.records import Job
from corral.web import models as v

MAX_PATCH_CHARS = 400_000
"""Larger diffs are cut (and say so): a page of a thousand files helps nobody."""


def job_diff(job: Job) -> v.JobDiff:
    root = Path(job.checkout) if job.checkout else None
    if root is None or not (root / ".git").exists():
        return _unavailable("the job's checkout is gone (or was never made); no diff is kept")
    if job.base_sha is None:
        return _unavailable("the job has no base commit yet")
    try:
        workspace = resolve_inside(root, job.workspace or ".", "the job's workspace")
        if job.head_sha is not None:
            patch = _git_diff(root, job.base_sha, job.head_sha)
            return _readable(patch, "commit", f"{job.base_sha[:10]}..{job.head_sha[:10]}")
        patch = _git_diff(workspace, job.base_sha, "--", ".") + _untracked(workspace)
    except PathEscapeError as exc:
        return _unavailable(str(exc))
    except GitCommandError as exc:
        return _unavailable(f"git could not show the diff: {exc}")
    return _readable(patch, "working tree", f"uncommitted change on {job.base_sha[:10]}")


def _git_diff(repo: Path, *revisions: str) -> str:
    """git diff, exactly as git prints it (a trailing blank context line matters)."""
    args = ["diff", "-M", "--no-color", "--no-ext-diff", "--no-textconv", *revisions]
    return git_text(args, repo=repo)


def _untracked(workspace: Path) -> str:
    """Untracked files that are part of the change (not ignored, not build output), as
    added files in git's format."""
    listed = git_text(
        ["ls-files", "-z", "--others", "--exclude-standard", "--", "."], repo=workspace
    )
    top = Path(git_text(["rev-parse", "--show-toplevel"], repo=workspace).strip())
    parts = []
    for relative in sorted(p for p in listed.split("\0") if p and not is_build_output(p)):
        parts.append(_added_file(top, (workspace / relative).relative_to(top).as_posix()))
    return "".join(parts)


def _added_file(top: Path, name: str) -> str:
    path = top / name
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        mode, lines = "120000", [os.readlink(path)]
    elif stat.S_ISREG(info.st_mode):
        data = _head(path)
        if b"\0" in data:
            binary = f"Binary files /dev/null and b/{name} differ\n"
            return f"diff --git a/{name} b/{name}\nnew file mode 100644\n{binary}"
        mode = "100755" if info.st_mode & 0o111 else "100644"
        lines = data.decode("utf-8", errors="replace").splitlines()
    else:
        return ""  # a FIFO, socket or device: nothing a diff can show
    body = "".join(f"+{line}\n" for line in lines)
    hunk = f"@@ -0,0 +1,{len(lines)} @@\n{body}" if lines else ""
    header = f"diff --git a/{name} b/{name}\nnew file mode {mode}\n"
    return f"{header}--- /dev/null\n+++ b/{name}\n{hunk}" if lines else header


def _head(path: Path) -> bytes:
    """The start of a regular file, opened without following a symlink swapped in since."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_PATCH_CHARS + 1)


def _unavailable(note: str) -> v.JobDiff:
    return v.JobDiff(available=False, source=None, note=note, patch="", files=[])


def _readable(patch: str, source: v.DiffSource, note: str) -> v.JobDiff:
    if not patch.strip():
        return v.JobDiff(
            available=True, source=source, note=f"{note}: no change", patch="", files=[]
        )
    if len(patch) > MAX_PATCH_CHARS:
        patch = patch[:MAX_PATCH_CHARS].rsplit("\ndiff --git ", 1)[0] + "\n"
        note += f" (cut to the first {MAX_PATCH_CHARS} characters)"
    files = [_file(f) for f in PatchSet(patch)]
    return v.JobDiff(available=True, source=source, note=note, patch=patch, files=files)


def _file(patched: PatchedFile) -> v.DiffFile:
    status: v.FileStatus = (
        "added"
        if patched.is_added_file
        else "deleted"
        if patched.is_removed_file
        else "renamed"
        if patched.is_rename
        else "modified"
    )
    return v.DiffFile(
        path=patched.path,
        status=status,
        added=patched.added,
        removed=patched.removed,
        binary=patched.is_binary_file,
        hunks=[_hunk(h) for h in patched],
    )


def _hunk(hunk: Hunk) -> v.DiffHunk:
    ranges = f"-{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length}"
    section = f" {hunk.section_header}" if hunk.section_header else ""
    return v.DiffHunk(
        header=f"@@ {ranges} @@{section}",
        lines=[
            v.DiffLine(
                kind=_KINDS[line.line_type],
                old=line.source_line_no,
                new=line.target_line_no,
                text=line.value.rstrip("\n"),
            )
            for line in hunk
            if line.line_type in _KINDS
        ],
    )


_KINDS: dict[str, v.LineKind] = {" ": "context", "+": "added", "-": "removed"}
