"""What every guard rule is: an id, a short reason, and a check of the diff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.gate.diff import Diff, FileChange
from corral.gate.settings import GuardSettings, RuleId
from corral.verifiers.base import VerifierResult


@dataclass(frozen=True)
class GuardFinding:
    rule: RuleId
    message: str
    """Written for the agent: what is wrong and what to do instead."""
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class GuardContext:
    diff: Diff
    settings: GuardSettings
    baseline: list[VerifierResult] | None = None
    """The verifiers' results at the base commit (for test counts); None when not run."""
    current: list[VerifierResult] | None = None
    """The verifiers' results on the change; None when not run."""


@dataclass(frozen=True)
class Rule:
    id: RuleId
    reason: str
    """One line for people: what the rule protects against."""
    check: Callable[[GuardContext], list[GuardFinding]]


def where(change: FileChange, line: int | None) -> str:
    return f"{change.path}:{line}" if line else change.path


def quote(text: str, limit: int = 80) -> str:
    """A source line as the agent is shown it: inline code, cut to `limit` characters."""
    text = text.strip()
    return f"`{text if len(text) <= limit else text[: limit - 1] + '…'}`"


def split_moved(
    diff: Diff, change: FileChange, removed: list[tuple[int, str]]
) -> tuple[list[tuple[int, str]], list[str]]:
    """Removed lines split into those gone for good and those moved: the same text added
    in another file of the diff (a test moved to a new file is not lost)."""
    elsewhere = Counter(
        text.strip() for other in diff.files if other is not change for _, text in other.added
    )
    gone = []
    moved = []
    for number, text in removed:
        if elsewhere[text] > 0:
            elsewhere[text] -= 1
            moved.append(text)
        else:
            gone.append((number, text))
    return gone, moved
