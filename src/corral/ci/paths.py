"""Paths as a CI runner printed them, made relative to the repository.

A runner checks the repository out below a folder of its own (`/home/runner/work/<repo>/<repo>/`
on GitHub's hosted runners, `/builds/<group>/<project>/` on GitLab's, `D:\\a\\<repo>\\<repo>\\` on
Windows, ...). The checkout folder the log itself names (`Initialized empty Git repository in
...`) wins over these conventions, so that nested GitLab groups and self-hosted runners map too.
With the repository's file list, a path that is still not one of its files (a Java class's
`com/example/FooTest.java`, a Go test file named without its package's folder) is resolved to
the one file that ends with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.git.command import GitCommandError, run_git

# Longest, most specific first: Azure's `D:\a\1\s\` before GitHub's `D:\a\<repo>\<repo>\`.
_RUNNER_ROOTS = re.compile(
    r"^(?:"
    r"(?:/[^/]+)*?/work/\d+/s/|[A-Za-z]:/a/\d+/s/"  # Azure Pipelines
    r"|/checkout/"  # rust-lang's CI containers
    r"|/home/runner/work/[^/]+/[^/]+/|/Users/runner/work/[^/]+/[^/]+/"  # GitHub hosted
    r"|[A-Za-z]:/a/[^/]+/[^/]+/"  # GitHub hosted, Windows
    r"|/__w/[^/]+/[^/]+/|(?:/[^/]+)*?/_work/[^/]+/[^/]+/"  # GitHub container, self-hosted
    r"|/builds/[^/]+/[^/]+/"  # GitLab (nested groups come from the log)
    r"|/home/travis/build/[^/]+/[^/]+/"  # Travis CI
    r"|/home/circleci/(?:project|repo)/|/root/project/"  # CircleCI
    r"|(?:/var/lib/jenkins|/var/jenkins_home|/home/jenkins(?:/agent)?)/workspace/[^/]+/"
    r"|/drone/src/|/woodpecker/src/[^/]+/[^/]+/[^/]+/|/buildkite/builds/[^/]+/[^/]+/[^/]+/"
    r")"
)
# Lines in which a runner names its checkout folder.
_CHECKOUT_ROOT = re.compile(
    r"(?:(?:Rei|I)nitialized (?:empty|existing) Git repository in (?P<git>\S+?)/\.git/?"
    r"|/git init (?P<init>\S+)$"
    r"|^Working directory: (?P<wd>\S+)$"
    r"|CI_PROJECT_DIR=(?P<gitlab>\S+))"
)
_FILE_URL = re.compile(r"^file:/{2,3}(?=/|[A-Za-z]:)")


def normalise(path: str) -> str:
    """POSIX separators, no `file://`, no `./`, and Windows drives as `D:/...`."""
    path = _FILE_URL.sub("", path.strip().strip("'\""))
    if re.match(r"^/?[A-Za-z]:\\", path) or ("\\" in path and "/" not in path):
        path = path.replace("\\", "/")
    path = re.sub(r"^/([A-Za-z]:/)", r"\1", path)
    while path.startswith("./"):
        path = path[2:]
    return path


def checkout_roots(lines: Iterable[str]) -> tuple[str, ...]:
    """The checkout folders the log names, longest first, each ending in `/`."""
    roots: set[str] = set()
    for line in lines:
        match = _CHECKOUT_ROOT.search(line)
        if match:
            root = next(g for g in match.groups() if g)
            roots.add(normalise(root).rstrip("/") + "/")
    return tuple(sorted(roots, key=len, reverse=True))


@dataclass
class PathMapper:
    """`rel`: a path as the log printed it -> relative to the repository, when it can tell."""

    roots: tuple[str, ...] = ()
    repo_files: Sequence[str] | None = None
    _by_name: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for path in self.repo_files or ():
            self._by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)

    def rel(self, path: str) -> str:
        path = normalise(path)
        for root in self.roots:
            if path.startswith(root):
                path = path[len(root) :]
                break
        else:
            path = _RUNNER_ROOTS.sub("", path, count=1)
        return self.resolve(path)

    def resolve(self, path: str) -> str:
        """With the repository's files known: the one file that ends with `path`, if unique."""
        if self.repo_files is None or is_outside(path):
            return path
        if path in self._by_name.get(path.rsplit("/", 1)[-1], ()):
            return path
        name = path.rsplit("/", 1)[-1]
        candidates = self._by_name.get(name, [])
        parts = path.split("/")
        # The longest tail of `path` that names exactly one file.
        for start in range(len(parts) - 1):
            tail = "/".join(parts[start:])
            matching = [c for c in candidates if c == tail or c.endswith("/" + tail)]
            if len(matching) == 1:
                return matching[0]
            if len(matching) > 1:
                break
        if len(candidates) == 1:
            return candidates[0]
        return path

    def strip_roots(self, text: str) -> str:
        """Text (a message, a stack line) with every runner checkout prefix taken out."""
        for root in self.roots:
            text = text.replace(root, "")
        return _EMBEDDED_ROOT.sub("", text)


_EMBEDDED_ROOT = re.compile(
    r"(?:file://)?(?:/home/runner/work|/Users/runner/work|/__w)/[^/\s]+/[^/\s]+/"
    r"|[A-Za-z]:\\a\\[^\\\s]+\\[^\\\s]+\\|/builds/[^/\s]+/[^/\s]+/"
    r"|/home/travis/build/[^/\s]+/[^/\s]+/|/home/circleci/project/"
)


def is_outside(path: str) -> bool:
    """Whether a mapped path is not the repository's: absolute, above it, or a dependency."""
    return (
        path.startswith(("/", "../", "<", "node:", "internal/"))
        or bool(re.match(r"^[A-Za-z]:/", path))
        or any(
            p in ("node_modules", "site-packages", "dist-packages", ".cargo")
            for p in path.split("/")
        )
    )


def repository_files(checkout: Path) -> list[str]:
    """The files git tracks in a checkout, relative to its root; ValueError when it is none."""
    try:
        listing = run_git(["ls-files", "-z"], repo=checkout).stdout
    except (OSError, GitCommandError) as exc:
        raise ValueError(f"{checkout} is not a git checkout") from exc
    return [name for name in listing.decode(errors="replace").split("\0") if name]
