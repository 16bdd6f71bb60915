"""A repository's CODEOWNERS: who owns the files a change touches.

The file is the repository's, so it is hostile: it is read from the base commit (a change
cannot pick its own reviewers), at most `MAX_BYTES` of it, and its patterns are matched by
a small glob matcher that takes time linear in the pattern times the path (a regex built
from `**/*a*a*a...` could backtrack for minutes).

Rules as GitHub and GitLab read them: one `pattern owner...` a line, `#` comments, the
last matching line wins (a line without owners leaves those files unowned); gitignore-like
patterns (no `/` but a trailing one: any depth; a leading or inner `/`: from the root; a
trailing `/`: everything below the folder; `*` within a path segment, `**` across
segments). GitLab's `[Section]` headers are read as one section.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from corral.forge.base import ForgeError
from corral.forge.git import git

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
"""Where the forges look, in their order (GitHub's three, then GitLab's own)."""
MAX_BYTES = 3 * 1024 * 1024
"""GitHub ignores a larger CODEOWNERS file."""
MAX_PATTERN = 1000
MAX_WORK = 20_000_000
"""Steps of the matcher (pattern length times path length, summed) one change may cost."""


class CodeownersError(ValueError):
    """The CODEOWNERS file cannot be used (too costly to match)."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]


def parse(text: str) -> list[Rule]:
    """The rules of a CODEOWNERS file, in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or _section_header(line):
            continue
        pattern, *rest = line.split()
        if len(pattern) > MAX_PATTERN:
            continue
        owners = []
        for word in rest:
            if word.startswith("#"):
                break
            owners.append(word)
        rules.append(Rule(pattern.replace("\\#", "#"), tuple(owners)))
    return rules


def _section_header(line: str) -> bool:
    return line.startswith(("[", "^["))


def owners_of(rules: Sequence[Rule], paths: Iterable[str]) -> list[str]:
    """The owners of the paths (each path's last matching rule), in the file's order, as
    written (`@user`, `@org/team`, `someone@example.com`). Raises CodeownersError when
    matching would take more than `MAX_WORK` steps (a hostile file)."""
    found: dict[str, None] = {}
    work = 0
    for path in paths:
        for rule in reversed(rules):
            work += 2 * (len(rule.pattern) + 3) * (len(path) + 1)
            if work > MAX_WORK:
                raise CodeownersError("CODEOWNERS is too large to match against the change")
            if matches(rule.pattern, path):
                found.update(dict.fromkeys(rule.owners))
                break
    return list(found)


def matches(pattern: str, path: str) -> bool:
    """Whether a CODEOWNERS pattern covers the file `path` (relative to the root): the
    file itself, or a folder above it (all below a matched folder is covered, but for
    `folder/*`, which covers the folder's own files only)."""
    core = pattern.strip("/")
    if not core:
        return False
    glob = core if pattern.startswith("/") or "/" in core else f"**/{core}"
    path = path.strip("/")
    if pattern.endswith("/"):
        return glob_match(f"{glob}/**", path)
    if core.endswith("/*"):
        return glob_match(glob, path)
    return glob_match(glob, path) or glob_match(f"{glob}/**", path)


def glob_match(pattern: str, path: str) -> bool:
    """`*` within a segment, `?` one character but `/`, `**/` any folders (or none), `**`
    anything. The set of reachable positions in `path` is carried token by token."""
    n = len(path)
    states = {0}
    for token in _tokens(pattern):
        if not states:
            return False
        low = min(states)
        if token == "**":
            states = set(range(low, n + 1))
        elif token == "**/":
            states = states | {j for j in range(low + 1, n + 1) if path[j - 1] == "/"}
        elif token == "*":
            states = _within_segment(states, path)
        else:
            states = {
                j + 1
                for j in states
                if j < n and (path[j] == token or (token == "?" and path[j] != "/"))
            }
    return n in states


def _within_segment(states: set[int], path: str) -> set[int]:
    reached: set[int] = set()
    for j in sorted(states):
        k = j
        while k not in reached:
            reached.add(k)
            if k >= len(path) or path[k] == "/":
                break
            k += 1
    return reached


def _tokens(pattern: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            tokens.append("**/")
            i += 3
        elif pattern.startswith("**", i):
            tokens.append("**")
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return tokens


def read_rules(checkout: Path, commit: str) -> list[Rule]:
    """The rules of the CODEOWNERS file at `commit` of the checkout ([] when it has none)."""
    for location in LOCATIONS:
        spec = f"{commit}:{location}"
        try:
            kind = git("cat-file", "-t", spec, cwd=checkout)
        except ForgeError:
            continue
        if kind != "blob":
            continue
        if int(git("cat-file", "-s", spec, cwd=checkout)) > MAX_BYTES:
            return []
        return parse(git("cat-file", "blob", spec, cwd=checkout))
    return []
