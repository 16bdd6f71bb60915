"""Verifiers leave the checkout as they found it: compared before and after each verifier.

A tracked file (in git's index) a verifier changed or deleted (a formatter or linter that
fixed in place, a build that regenerated a committed file) is put back and reported as an
`error` finding: the change under review must be the agent's, never the checker's. Files a
verifier created (a `dist/`, a generated `_version.py`, a stray report), ignored by git or
not, are removed.
Ignored dependency installs and build caches stay on purpose (`KEPT_CACHES`): `node_modules`
and Yarn's Plug'n'Play files (reinstalling takes minutes) and cargo's `target` (the build).
The gate's diff leaves them out of the change.

The snapshot stages the working tree into a throwaway copy of the index (the user's index
is never touched), so unchanged files cost a stat, not a read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corral.git.command import GitCommandError, git_dir_of, git_text, run_git, run_git_sequence
from corral.verifiers.base import Finding, FindingKind

KEPT_CACHES = frozenset(
    {"node_modules", "target", ".pnp.cjs", ".pnp.loader.mjs", "install-state.gz", "unplugged"}
)
"""Ignored entries a verifier may leave: its dependency install (node_modules, Yarn Plug'n'Play
files) and build cache (target)."""


@dataclass(frozen=True)
class Snapshot:
    tree: str
    """A git tree of the working tree: tracked files and untracked ones git does not ignore."""
    ignored: frozenset[str]
    """Ignored entries (a folder once, as `dir/`) present."""


class TreeGuard:
    """Snapshots of one git checkout; inactive (no snapshots) outside git."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = _git_dir(root) if (root / ".git").exists() else None
        self.active = self.git_dir is not None

    def snapshot(self) -> Snapshot | None:
        if not self.active:
            return None
        try:
            return self._snapshot()
        except (GitCommandError, OSError):  # git missing, refused, or the tree unreadable
            return None

    def restore(self, before: Snapshot | None, who: str) -> list[Finding]:
        """Undo what happened since `before`; an `error` finding per tracked file touched."""
        return self.settle(before, who)[0]

    def settle(self, before: Snapshot | None, who: str) -> tuple[list[Finding], Snapshot | None]:
        """`restore`, and the snapshot of the checkout as it is now: the `before` of the next
        verifier without another snapshot (one per verifier plus one, instead of two each)."""
        after = self.snapshot() if before is not None else None
        if before is None or after is None:
            return [], None
        if after.tree == before.tree and after.ignored <= before.ignored:
            return [], after  # nothing to put back or remove: no diff to ask git for
        try:
            findings = self._undo(before, after, who)
        except (GitCommandError, OSError) as exc:
            message = f"could not put the checkout back after the {who} verifier: {exc}"
            return [Finding(FindingKind.ERROR, None, None, message)], None
        if after.tree == before.tree:
            return findings, after
        kept = {e for e in after.ignored - before.ignored if _kept(e)}
        return findings, Snapshot(before.tree, before.ignored | kept)

    def _undo(self, before: Snapshot, after: Snapshot, who: str) -> list[Finding]:
        findings = []
        changes = self._changes(before.tree, after.tree)
        tracked = self._tracked([path for status, path in changes if status != "A"])
        for status, path in changes:
            if status == "A":
                _remove(self.root / path)
                continue
            if path not in tracked:
                # An untracked file the verifiers made before (a generated Cargo.lock it
                # now moves back to the cache): theirs to remove.
                continue
            self._put_back(before.tree, path)
            verb = "deleted" if status == "D" else "changed"
            findings.append(
                Finding(
                    FindingKind.ERROR,
                    path,
                    None,
                    f"the {who} verifier {verb} this file in the checkout (put back): a check "
                    "must never write to it; run its tool in check mode (--check, --no-fix)",
                )
            )
        for entry in sorted(after.ignored - before.ignored):
            if not _kept(entry):
                _remove(self.root / entry.rstrip("/"))
        return findings

    def _tracked(self, paths: list[str]) -> set[str]:
        if not paths:
            return set()
        out = self._git("ls-files", "-z", "--", *(f":(literal){p}" for p in paths))
        return {p for p in out.split("\0") if p}

    def _snapshot(self) -> Snapshot:
        """The tree and the ignored entries, from three git commands run as one sequence (one
        check of the checkout's repositories instead of one per command)."""
        assert self.git_dir is not None
        git_dir = self.git_dir
        with tempfile.TemporaryDirectory(prefix="corral-tree-") as tmp:
            index = Path(tmp) / "index"
            if (git_dir / "index").is_file():
                # Its stat cache: only changed files are read. copy2 keeps the index's mtime,
                # which git needs to rehash files written in the same instant ("racy git"):
                # with a newer mtime, a same-size edit made just after would read as unchanged.
                shutil.copy2(git_dir / "index", index)
            excluded = [f":(exclude,glob)**/{name}/**" for name in sorted(KEPT_CACHES)]
            # status reads the throwaway index too: `add --all` staged no ignored entry, so
            # the ignored entries it lists are those of the checkout's own index.
            _, tree, status = run_git_sequence(
                [
                    ["--no-optional-locks", "add", "--all", "--", ".", *excluded],
                    ["--no-optional-locks", "write-tree"],
                    [
                        "--no-optional-locks",
                        "status",
                        "--porcelain=v1",
                        "-z",
                        "--ignored=matching",
                        "--untracked-files=normal",
                    ],
                ],
                repo=self.root,
                env={"GIT_INDEX_FILE": str(index)},
            )
        entries = os.fsdecode(status.stdout).split("\0")
        ignored = frozenset(e[3:] for e in entries if e.startswith("!! "))
        return Snapshot(tree.stdout.decode().strip(), ignored)

    def _changes(self, before: str, after: str) -> list[tuple[str, str]]:
        out = self._git("diff-tree", "-r", "-z", "--no-renames", "--name-status", before, after)
        fields = out.split("\0")
        return [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]

    def _put_back(self, tree: str, path: str) -> None:
        line = self._git("ls-tree", "-z", tree, "--", path).rstrip("\0")
        if not line:
            return
        meta, _, _ = line.partition("\t")
        mode, kind, sha = meta.split()
        if kind != "blob":
            return
        target = self.root / path
        _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        content = run_git(["cat-file", "blob", sha], repo=self.root).stdout
        if mode == "120000":
            target.symlink_to(os.fsdecode(content))
        else:
            target.write_bytes(content)
            target.chmod(0o755 if mode == "100755" else 0o644)

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        # --no-optional-locks: no opportunistic refresh; the user's index is never written.
        return git_text(["--no-optional-locks", *args], repo=self.root, env=env)


def _kept(entry: str) -> bool:
    return Path(entry.rstrip("/")).name in KEPT_CACHES


def _git_dir(root: Path) -> Path | None:
    """The checkout's git folder (found once per guard, not once per snapshot), or None."""
    if found := git_dir_of(root):
        return found
    try:
        result = run_git(["rev-parse", "--absolute-git-dir"], repo=root, check=False)
    except (GitCommandError, OSError):  # no git where corral runs, or a refused config
        return None
    return Path(os.fsdecode(result.stdout.strip())) if result.returncode == 0 else None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
