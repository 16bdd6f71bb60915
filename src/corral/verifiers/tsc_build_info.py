"""tsc's build info (`--incremental`), kept in the cache and seeded for a new checkout.

tsc records, per file, a hash of its text, what it imports and its diagnostics; the next run
checks only the files whose hash (or whose imports' declarations) changed and reports the
others' diagnostics from the record. The file is kept per checkout folder under
`tsc-build-info/` in the cache (never in the checkout: it would be committed into a change).

Every campaign job is a new checkout, and tsc writes its paths relative to the build-info
file's folder, so another checkout's record names other files. After each run the record is
kept as the seed of its inputs (`tsc-seeds/`: the repository, the project folder in it, the
TypeScript version, tsconfig.json, the installed dependencies); a new checkout with the same
inputs starts from a copy whose paths into the old checkout are rewritten to point into the
new one, and tsc's own hashes decide what to check again. Seeds are keyed by the repository
as corral cloned it (`repository_key`: its origin URL), never by content a repository
controls: the record is data tsc trusts for unchanged files, so one repository's record
must never reach another's checks. The cache is per repository under bwrap anyway; the key
keeps them apart where a cache is shared (the local runner).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.sandbox.base import temporary_sibling, write_inside
from corral.verifiers.base import ProjectContext

FOLDER = "tsc-build-info"
SEEDS = "tsc-seeds"
_MAX_BYTES = 256 << 20
UNUSED_FOR_S = 7 * 24 * 3600


def build_info_path(ctx: ProjectContext, inputs: Sequence[str]) -> Path:
    """The project's build-info file in the cache, with a `.owner` file naming its checkout
    folder; those of checkouts that are gone are removed when a new one is made, and a new
    one starts as a copy of the seed of the same repository and `inputs` when there is one."""
    folder = ctx.cache_dir / FOLDER
    key = hashlib.sha256(str(ctx.project_dir.resolve()).encode()).hexdigest()[:32]
    owner = folder / f"{key}.owner"
    path = folder / f"{key}.tsbuildinfo"
    if not owner.is_file():
        for other in folder.glob("*.owner") if folder.is_dir() else ():
            try:
                gone = not Path(other.read_text()).is_dir()
            except OSError:
                continue
            if gone:
                other.with_suffix(".tsbuildinfo").unlink(missing_ok=True)
                other.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        write_inside(ctx.cache_dir, owner, str(ctx.project_dir.resolve()))
    if not path.exists() and not path.is_symlink():
        _seed(ctx, path, inputs)
    return path


def keep_seed(ctx: ProjectContext, path: Path, inputs: Sequence[str]) -> None:
    """Keep the build info tsc just wrote as the seed for the next checkout of `inputs`."""
    raw = _read_regular(path, ctx.cache_dir)
    if raw is None:
        return
    seeds = ctx.cache_dir / SEEDS
    seed = seeds / f"{_seed_key(ctx, inputs)}.seed"
    meta = {"root": str(ctx.repo_root.resolve()), "from": str(path.parent), "name": path.name}
    try:
        seeds.mkdir(parents=True, exist_ok=True)
        if not seeds.resolve().is_relative_to(ctx.cache_dir.resolve()):
            return
        if not seed.exists():
            _prune(seeds)
        building = temporary_sibling(seed)
        building.unlink(missing_ok=True)
        fd = os.open(building, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(json.dumps(meta).encode() + b"\n" + raw)
        building.replace(seed)
    except OSError:
        return


def _seed(ctx: ProjectContext, path: Path, inputs: Sequence[str]) -> None:
    seed = ctx.cache_dir / SEEDS / f"{_seed_key(ctx, inputs)}.seed"
    raw = _read_regular(seed, ctx.cache_dir)
    if raw is None:
        return
    head, _, body = raw.partition(b"\n")
    try:
        meta = json.loads(head)
        info = json.loads(body)
        old = Rebase(
            root=str(meta["root"]),
            prefix=os.path.relpath(meta["root"], meta["from"]),
            name=str(meta["name"]),
        )
    except (ValueError, KeyError, TypeError, RecursionError):
        return
    new_root = str(ctx.repo_root.resolve())
    new = Rebase(root=new_root, prefix=os.path.relpath(new_root, path.parent), name=path.name)
    rebased = rebase(info, old, new)
    if rebased is None:
        return
    try:
        write_inside(ctx.cache_dir, path, json.dumps(rebased, separators=(",", ":")))
        os.utime(seed)
    except OSError:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Rebase:
    """Where a build-info file's paths lead: the checkout's root (absolute), the same root
    relative to the build-info file's folder (how tsc writes it), and the file's name."""

    root: str
    prefix: str
    name: str


def rebase(info: Any, old: Rebase, new: Rebase) -> Any | None:
    """`info` with its paths into the old checkout leading into the new one; None when it is
    not a build info that names a file of the old checkout (nothing to reuse, or a layout
    this does not know)."""
    if not isinstance(info, dict) or not (_outside(old.prefix) and _outside(new.prefix)):
        return None
    found = False

    def text(value: str) -> str:
        nonlocal found
        if value == old.prefix or value.startswith(old.prefix + "/"):
            found = True
            return new.prefix + value[len(old.prefix) :]
        if value in (old.name, "./" + old.name):  # the tsBuildInfoFile option
            return value.replace(old.name, new.name)
        # an absolute path in a diagnostic's message
        return value.replace(old.root + "/", new.root + "/") if old.root + "/" in value else value

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {text(k): walk(v) for k, v in value.items()}
        return value

    try:
        rebased = walk(info)
    except RecursionError:
        return None
    return rebased if found else None


def _outside(prefix: str) -> bool:
    """Whether a checkout's root, as a path relative to the build info's folder, is neither
    that folder nor one of its parents (then paths out of the checkout would share the
    prefix of paths into it)."""
    parts = prefix.split("/")
    return parts[0] == ".." and parts[-1] not in ("..", ".", "")


def _seed_key(ctx: ProjectContext, inputs: Sequence[str]) -> str:
    from corral.sandbox.bwrap import repository_key

    project = ctx.project_dir.resolve().relative_to(ctx.repo_root.resolve()).as_posix()
    identity = [repository_key(ctx.repo_root.resolve()), project, *inputs]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]


def _read_regular(path: Path, root: Path) -> bytes | None:
    """A regular file's bytes, read from the host: not through a link a sandboxed command
    planted (it would copy a host file into the cache), not from outside `root`."""
    try:
        if not path.parent.resolve().is_relative_to(root.resolve()):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BYTES:
            return None
        return file.read(_MAX_BYTES + 1)[:_MAX_BYTES]


def _prune(seeds: Path) -> None:
    cutoff = time.time() - UNUSED_FOR_S
    for entry in seeds.iterdir():
        try:
            if entry.lstat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            continue
