"""A job's diff, for reading: from its commit when it has one, else from its checkout's
working tree (a change the gate refused is left there uncommitted). The store keeps no
diffs, so a job whose checkout is gone shows none, and says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

from unidiff.patch import Hunk, PatchedFile, PatchSet

from corral.gate.diff import DiffError, compute_diff
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
        if job.head_sha is not None:
            patch = _commit_diff(root, job.base_sha, job.head_sha)
            return _readable(patch, "commit", f"{job.base_sha[:10]}..{job.head_sha[:10]}")
        patch = compute_diff(root, job.base_sha).patch
    except (subprocess.CalledProcessError, DiffError) as exc:
        return _unavailable(f"git could not show the diff: {getattr(exc, 'stderr', None) or exc}")
    return _readable(patch, "working tree", f"uncommitted change on {job.base_sha[:10]}")


def _commit_diff(root: Path, base: str, head: str) -> str:
    """git diff base..head, exactly as git prints it (a trailing blank context line matters)."""
    done = subprocess.run(
        ["git", "diff", "-M", "--no-color", "--no-ext-diff", base, head],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


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
