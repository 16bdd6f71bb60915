"""A repository's CODEOWNERS: who owns the files a change touches.

The file is the repository's, so it is hostile: it is read from the base commit (a change
cannot pick its own reviewers), at most `MAX_BYTES` of it, and its patterns are matched
segment by segment (each segment's glob a regex with fnmatch's atomic groups, which do not
backtrack), within a budget of steps for the whole change.

Rules as GitHub and GitLab read them: one `pattern owner...` a line, `#` comments, the
last matching line wins (a line without owners leaves those files unowned); gitignore-like
patterns (no `/` but a trailing one: any depth; a leading or inner `/`: from the root; a
trailing `/`: everything below the folder; `*` within a path segment, `**` across
segments). GitLab's `[Section]` headers are read as one section.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from corral.forge.base import ForgeError
from corral.forge.git import git

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
"""Where the forges look, in their order (GitHub's three, then GitLab's own)."""
MAX_BYTES = 3 * 1024 * 1024
"""GitHub ignores a larger CODEOWNERS file."""
MAX_PATTERN = 1000
MAX_WORK = 10_000_000
"""Steps of the matcher (a segment glob tried on a path segment) one change may cost."""


class CodeownersError(ValueError):
    """The CODEOWNERS file cannot be used (too costly to match)."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]

    @cached_property
    def matcher(self) -> _Matcher:
        return _Matcher.of(self.pattern)


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
    matching takes more than `MAX_WORK` steps (a hostile file)."""
    found: dict[str, None] = {}
    budget = _Budget(MAX_WORK)
    for path in paths:
        parts = tuple(path.strip("/").split("/"))
        rule = next((r for r in reversed(rules) if r.matcher.covers(parts, budget)), None)
        if rule is not None:
            found.update(dict.fromkeys(rule.owners))
    return list(found)


def matches(pattern: str, path: str) -> bool:
    """Whether a CODEOWNERS pattern covers the file `path` (relative to the root)."""
    return _Matcher.of(pattern).covers(tuple(path.strip("/").split("/")), _Budget(MAX_WORK))


ANY_FOLDERS = None
"""A `**` segment: any number of path segments, none included."""


Segment = str | re.Pattern[str] | None
"""A literal path segment, a glob for one, or ANY_FOLDERS."""


@dataclass(frozen=True)
class _Matcher:
    """A pattern as segments (literal, or a compiled glob whose `*` and `?` never cross a
    `/`) matched segment by segment: the time is the pattern's segments times the path's,
    each glob a regex with fnmatch's atomic groups (no backtracking blow-up)."""

    segments: tuple[Segment, ...]
    folder_only: bool
    """`docs/`: folders only (and what is below them)."""
    own_files_only: bool
    """`docs/*`: the folder's own files, not those deeper down."""

    @classmethod
    def of(cls, pattern: str) -> _Matcher:
        core = pattern.strip("/")
        parts = core.split("/") if core else []
        if len(parts) == 1 and not pattern.startswith("/"):
            parts = ["**", *parts]  # no slash but a trailing one: at any depth
        return cls(
            tuple(_segment(part) for part in parts),
            folder_only=pattern.endswith("/"),
            own_files_only=core.endswith("/*"),
        )

    def covers(self, parts: tuple[str, ...], budget: _Budget) -> bool:
        budget.spend(1)
        if not self.segments or not _fits(self.segments[0], parts[0]):
            return False
        if len(self.segments) == 2 and self.segments[0] is ANY_FOLDERS:  # `name` at any depth
            names = parts[:-1] if self.folder_only else parts
            budget.spend(len(names))
            return any(_fits(self.segments[1], name) for name in names)
        reached = self._prefixes(parts, budget)
        if self.own_files_only:
            return len(parts) in reached
        if self.folder_only:
            return any(k < len(parts) for k in reached)
        return any(k >= 1 for k in reached)  # the file, or a folder above it

    def _prefixes(self, parts: tuple[str, ...], budget: _Budget) -> set[int]:
        """How many leading path segments the whole pattern can match."""
        states = {0}
        for segment in self.segments:
            if not states:
                break
            budget.spend(len(states))
            if segment is ANY_FOLDERS:
                states = set(range(min(states), len(parts) + 1))
            else:
                states = {k + 1 for k in states if k < len(parts) and _fits(segment, parts[k])}
        return states


def _fits(segment: Segment, name: str) -> bool:
    if segment is ANY_FOLDERS:
        return True
    if isinstance(segment, str):
        return segment == name
    return segment.fullmatch(name) is not None


def _segment(part: str) -> Segment:
    """`**`, a literal, or a glob for one path segment (`**` inside a segment is `*`);
    brackets are literal, as GitHub's CODEOWNERS has no character classes."""
    if part == "**":
        return ANY_FOLDERS
    if "*" not in part and "?" not in part:
        return part
    return re.compile(fnmatch.translate(part.replace("[", "[[]")))


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise CodeownersError("CODEOWNERS is too large to match against the change")


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
