"""`go list`'s answer kept between verifies, keyed by everything that can change it.

`go list -e -json=ImportPath,Dir,<file fields> ./...` costs a Go process (0.1-0.2 s) on every
check, for an answer that changes only with the module's files or the toolchain. It is kept
under the key of:

- `go env -json` (a ~10 ms process): the toolchain's version and GOROOT, GOFLAGS (its
  environment file too), GOOS/GOARCH, CGO_ENABLED and the C compiler, GOEXPERIMENT, GOPATH,
  the module cache, all as the check's own commands see them; minus GOGCCFLAGS (a new
  temporary folder in each call) and GOMOD (the checkout's path);
- the folders `./...` walks, as go walks them (not into `.x`, `_x`, `testdata` or `vendor`
  folders, nor into another module's): every entry's name and kind, and the content of every
  `.go` file, `go.mod`, `go.sum` and `vendor/modules.txt`.

Nothing is kept, and `go list` runs, when go's answer could depend on something else: a
go.work workspace, GOPATH mode, a symbolic link or a special file anywhere in those folders
(go reads through links to files), a folder that cannot be read, or a `go list` that failed.
Folders are stored relative to the module, so another checkout of the same content reuses the
answer. The answers live next to the cache, not in it (`answers_dir`): a sandboxed command,
which can write the cache, cannot plant an answer for a later verify to read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from corral.sandbox.base import temporary_sibling
from corral.verifiers.base import ProjectContext, answers_dir

KEY_VERSION = b"go-list-1"
_VARYING_ENV = frozenset({"GOGCCFLAGS", "GOMOD"})
_KEYED_CONTENT = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})


def listing_key(ctx: ProjectContext, fields: str, values: dict[str, Any] | None) -> str | None:
    """The key of `go list`'s answer for the module as it is now (`values`: `go env -json` as
    the check's commands see it), or None: do not reuse."""
    if not values or values.get("GOWORK") or not values.get("GOMOD"):
        return None  # a workspace, GOPATH mode or no module: not keyed here
    if Path(str(values["GOMOD"])).resolve() != (ctx.project_dir / "go.mod").resolve():
        return None
    digest = hashlib.sha256(KEY_VERSION + b"\0" + fields.encode() + b"\0")
    for name in sorted(set(values) - _VARYING_ENV):
        digest.update(f"{name}={values[name]}\0".encode())
    tree = tree_digest(ctx.project_dir)
    if tree is None:
        return None
    digest.update(tree.encode())
    return digest.hexdigest()[:40]


def tree_digest(root: Path) -> str | None:
    """What `go list ./...` reads below root, as a digest; None where it is not safe to key."""
    digest = hashlib.sha256()
    pending = [""]
    while pending:
        rel = pending.pop()
        folder = os.path.join(root, rel) if rel else str(root)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return None
        if rel and any(e.name == "go.mod" and e.is_file(follow_symlinks=False) for e in entries):
            digest.update(f"M {rel}\0".encode())  # another module: `./...` stops here
            continue
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                return None  # go reads through links to files, ignores links to folders
            if entry.is_dir(follow_symlinks=False):
                digest.update(f"D {path}\0".encode())
                if entry.name == "vendor":
                    if not _add_file(digest, os.path.join(entry.path, "modules.txt"), missing=True):
                        return None
                elif not (entry.name.startswith((".", "_")) or entry.name == "testdata"):
                    pending.append(path)
            elif entry.is_file(follow_symlinks=False):
                digest.update(f"F {path}\0".encode())
                if (entry.name.endswith(".go") or entry.name in _KEYED_CONTENT) and not _add_file(
                    digest, entry.path
                ):
                    return None
            else:
                return None  # a fifo, socket or device: nothing to read safely
    return digest.hexdigest()


def _add_file(digest: Any, path: str, *, missing: bool = False) -> bool:
    """Add a regular file's content (never through a link, never blocking on a fifo)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        digest.update(b"-\0")
        return missing
    except OSError:
        return False
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        digest.update(hashlib.file_digest(file, "sha256").digest())
    return True


def _stored(ctx: ProjectContext, key: str) -> Path:
    return answers_dir(ctx.cache_dir) / "go-list" / f"{key}.json"


def load(
    ctx: ProjectContext, key: str, file_fields: tuple[str, ...]
) -> list[dict[str, Any]] | None:
    """The stored answer, its folders made absolute for this checkout again; None if absent."""
    try:
        stored = json.loads(_stored(ctx, key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, list):
        return None
    packages = []
    for obj in stored:
        if not isinstance(obj, dict) or not isinstance(obj.get("ImportPath"), str):
            return None
        if not isinstance(obj.get("Dir"), str) or ".." in Path(obj["Dir"]).parts:
            return None
        files = {k: obj.get(k, []) for k in file_fields}
        if not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in files.values()
        ):
            return None
        directory = ctx.project_dir / obj["Dir"].lstrip("/")
        packages.append({"ImportPath": obj["ImportPath"], "Dir": str(directory), **files})
    return packages


def store(ctx: ProjectContext, key: str, objects: list[dict[str, Any]]) -> None:
    """Keep go list's objects (only when every package folder is inside the module)."""
    root = ctx.project_dir.resolve()
    relative = []
    for obj in objects:
        directory = Path(obj["Dir"]).resolve()
        if not directory.is_relative_to(root):
            return
        relative.append({**obj, "Dir": directory.relative_to(root).as_posix()})
    path = _stored(ctx, key)
    tmp = temporary_sibling(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(relative))
        tmp.replace(path)
    except OSError:  # not kept: the next check runs go list again
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
