"""The change under review: the diff between a base commit and the working tree, via git.

The working tree is taken as `corral.git.worktree.working_tree` defines it (untracked files
count unless ignored or build output), the same tree the pipeline commits; the user's index
is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from unidiff.patch import PatchSet

from corral.git.command import GitCommandError, git_text, run_git
from corral.git.worktree import working_tree

ChangeStatus = Literal["added", "modified", "deleted", "renamed", "copied", "type_changed"]

_STATUS: dict[str, ChangeStatus] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type_changed",
}

_GITLINK_MODE = "160000"
_NULL_SHA = "0" * 40


class DiffError(RuntimeError):
    """git could not produce the diff (not a repository, unknown ref...)."""


@dataclass(frozen=True)
class FileChange:
    status: ChangeStatus
    old_path: str | None
    """None for an added file."""
    new_path: str | None
    """None for a deleted file."""
    old_text: str | None = None
    """The whole file at the base; None when added, binary or a submodule."""
    new_text: str | None = None
    """The whole file in the working tree; None when deleted, binary or a submodule."""
    added: tuple[tuple[int, str], ...] = ()
    """(line number in the new file, text) of each added line."""
    removed: tuple[tuple[int, str], ...] = ()
    """(line number in the old file, text) of each removed line."""
    binary: bool = False
    size: int = 0
    """Bytes of the new content (0 for a deletion or a submodule), binary files included."""

    @property
    def path(self) -> str:
        """The path the change is known by: the new one, or the old one for a deletion."""
        return self.new_path or self.old_path or ""

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p in (self.old_path, self.new_path) if p))

    @property
    def changed_lines(self) -> int:
        return len(self.added) + len(self.removed)


@dataclass(frozen=True)
class Diff:
    base: str
    """The base commit's full sha."""
    files: tuple[FileChange, ...] = ()
    patch: str = ""
    """The unified diff, as a reviewer (or the judge) reads it."""


def resolve_commit(repo: Path, ref: str) -> str:
    """The full sha of `ref`; DiffError when it names no commit in `repo`."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except DiffError as exc:
        raise DiffError(f"{ref!r} is not a commit in {repo}") from exc


@dataclass(frozen=True)
class BaseChoice:
    """The base a surface judges a checkout against when none was given, and why."""

    ref: str
    why: str


def default_base(repo: Path) -> BaseChoice:
    """Where the checkout's branch forked from its upstream (what a PR would show), or HEAD
    (the uncommitted changes) when the branch has no upstream. DiffError outside a repository."""
    resolve_commit(repo, "HEAD")
    try:
        upstream = _git(
            repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"
        ).strip()
    except DiffError:
        return BaseChoice("HEAD", "HEAD (the branch has no upstream): the uncommitted changes")
    fork = _git(repo, "merge-base", "HEAD", upstream).strip()
    return BaseChoice(fork, f"{upstream} (the branch's upstream), from commit {fork[:12]}")


def compute_diff(repo: Path, base_ref: str) -> Diff:
    """The change from `base_ref` to the working tree of `repo`, untracked files included."""
    base = resolve_commit(repo, base_ref)
    try:
        tree = working_tree(repo)
    except GitCommandError as exc:
        raise DiffError(str(exc)) from exc
    raw = _git(repo, "diff", "--raw", "-z", "-M", "--no-abbrev", base, tree)
    patch = _git(
        repo,
        "diff",
        "-M",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        base,
        tree,
    )
    lines = _lines_by_path(patch)
    entries = _parse_raw(raw)
    shas = [sha for e in entries for sha in (e.old_sha, e.new_sha)]
    sizes = _blob_sizes(repo, shas)
    blobs = _read_blobs(repo, [sha for sha in shas if sizes.get(sha, 0) <= MAX_READ_BYTES])
    files = tuple(_file_change(e, blobs, lines, sizes) for e in entries)
    return Diff(base=base, files=files, patch=patch)


@dataclass(frozen=True)
class _RawEntry:
    status: ChangeStatus
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    old_path: str | None
    new_path: str | None


def _parse_raw(raw: str) -> list[_RawEntry]:
    """`git diff --raw -z`: `:oldmode newmode oldsha newsha STATUS\\0path\\0[path\\0]`."""
    fields = raw.split("\0")
    entries = []
    i = 0
    while i < len(fields) and fields[i].startswith(":"):
        old_mode, new_mode, old_sha, new_sha, status = fields[i][1:].split(" ")
        kind = _STATUS.get(status[0])
        if kind is None:
            raise DiffError(f"unexpected git diff status {status!r}")
        if kind in ("renamed", "copied"):
            old_path, new_path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path = new_path = fields[i + 1]
            i += 2
        entries.append(
            _RawEntry(
                kind,
                old_mode,
                new_mode,
                old_sha,
                new_sha,
                None if kind == "added" else old_path,
                None if kind == "deleted" else new_path,
            )
        )
    return entries


_Lines = tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...], bool]


def _lines_by_path(patch: str) -> dict[str, _Lines]:
    """(added, removed, binary) per path, keyed by the new path (the old one for deletions)."""
    result: dict[str, _Lines] = {}
    for patched in PatchSet(patch):
        added = tuple(
            (line.target_line_no, line.value.rstrip("\n"))
            for hunk in patched
            for line in hunk
            if line.is_added and line.target_line_no is not None
        )
        removed = tuple(
            (line.source_line_no, line.value.rstrip("\n"))
            for hunk in patched
            for line in hunk
            if line.is_removed and line.source_line_no is not None
        )
        result[patched.path] = (added, removed, bool(patched.is_binary_file))
    return result


MAX_READ_BYTES = 5_000_000
"""Larger files are not read for the guard's text rules (they count as binary); their size
still counts."""


def _blob_sizes(repo: Path, shas: Sequence[str]) -> dict[str, int]:
    """The size of each blob (not of submodule commits), from `git cat-file --batch-check`."""
    wanted = list(dict.fromkeys(s for s in shas if s != _NULL_SHA))
    if not wanted:
        return {}
    try:
        done = run_git(
            ["cat-file", "--batch-check"], repo=repo, stdin=("\n".join(wanted) + "\n").encode()
        )
    except GitCommandError as exc:
        raise DiffError(str(exc)) from exc
    sizes = {}
    for line in done.stdout.decode().splitlines():
        sha, kind, *rest = line.split(" ")
        if kind == "blob" and rest:
            sizes[sha] = int(rest[0])
    return sizes


def _read_blobs(repo: Path, shas: Sequence[str]) -> dict[str, bytes]:
    """Contents of the given blobs, in one `git cat-file --batch` process."""
    wanted = list(dict.fromkeys(s for s in shas if s != _NULL_SHA))
    if not wanted:
        return {}
    try:
        proc = run_git(
            ["cat-file", "--batch"], repo=repo, stdin=("\n".join(wanted) + "\n").encode()
        )
    except GitCommandError as exc:
        raise DiffError(str(exc)) from exc
    blobs: dict[str, bytes] = {}
    out = proc.stdout
    pos = 0
    for sha in wanted:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].decode().split(" ")
        pos = header_end + 1
        if header[-1] == "missing" or header[1] != "blob":
            continue  # a submodule commit: no content here
        size = int(header[2])
        blobs[sha] = out[pos : pos + size]
        pos += size + 1
    return blobs


def _file_change(
    entry: _RawEntry,
    blobs: Mapping[str, bytes],
    lines: dict[str, _Lines],
    sizes: Mapping[str, int],
) -> FileChange:
    key = entry.new_path or entry.old_path or ""
    added, removed, binary = lines.get(key, ((), (), False))
    old_text = _text(blobs.get(entry.old_sha), entry.old_mode)
    new_text = _text(blobs.get(entry.new_sha), entry.new_mode)
    binary = (
        binary
        or (entry.old_path is not None and old_text is None)
        or (entry.new_path is not None and new_text is None)
    )
    return FileChange(
        status=entry.status,
        old_path=entry.old_path,
        new_path=entry.new_path,
        old_text=old_text,
        new_text=new_text,
        added=added,
        removed=removed,
        binary=binary,
        size=sizes.get(entry.new_sha, 0) if entry.new_path is not None else 0,
    )


def _text(data: bytes | None, mode: str) -> str | None:
    if data is None or mode == _GITLINK_MODE or b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def _git(repo: Path, *args: str) -> str:
    try:
        return git_text(args, repo=repo)
    except GitCommandError as exc:
        raise DiffError(f"{exc} (in {repo})") from exc
