"""assertions-weakened: a changed test file with fewer assertions than before, strong
assertions swapped for weak ones (equality for not-null), or assertions made unable to fail."""

from __future__ import annotations

from dataclasses import dataclass

from corral.gate.diff import Diff, FileChange
from corral.gate.guard.base import GuardContext, GuardFinding, Rule, quote, split_moved
from corral.gate.guard.languages import (
    Language,
    added_lines_matching,
    count,
    language_of,
    removed_lines_matching,
    strip_comments,
)
from corral.gate.settings import RuleId

ID: RuleId = "assertions-weakened"


@dataclass(frozen=True)
class _Tally:
    total: int
    weak: int
    trivialisers: int

    @property
    def strong(self) -> int:
        return self.total - self.weak


def check(ctx: GuardContext) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    for change in ctx.diff.files:
        if change.status not in ("modified", "renamed", "type_changed"):
            continue
        lang = language_of(change.old_path or "")
        if (
            lang is None
            or change.old_text is None
            or change.new_text is None
            or language_of(change.new_path or "") is not lang
            or not lang.is_test_file(change.old_path, change.old_text)
        ):
            continue
        findings.extend(_check_file(ctx.diff, change, lang))
    return findings


def _tally(text: str, lang: Language) -> _Tally:
    code = strip_comments(text, lang.comments)
    return _Tally(
        count(lang.assertion, code), count(lang.weak_assertion, code), count(lang.trivialiser, code)
    )


def _check_file(diff: Diff, change: FileChange, lang: Language) -> list[GuardFinding]:
    before = _tally(change.old_text or "", lang)
    after = _tally(change.new_text or "", lang)
    findings = []
    removed, moved = split_moved(
        diff, change, removed_lines_matching(change, lang.assertion, lang.comments)
    )
    lost = before.total - after.total - len(moved)
    if lost > 0:
        findings.append(
            _finding(
                change,
                f"You removed {lost} assertion(s) from {change.path}"
                f"{_shown_removed(removed)}; restore them and fix the code instead.",
                removed,
            )
        )
    elif after.strong + _strong(moved, lang) < before.strong:
        weak = added_lines_matching(change, lang.weak_assertion, lang.comments)
        findings.append(
            _finding(
                change,
                f"You replaced assertions in {change.path} with weaker ones"
                f"{_shown(change.path, weak)}; keep checking the exact expected values.",
                weak,
            )
        )
    if after.trivialisers > before.trivialisers:
        added = added_lines_matching(change, lang.trivialiser, lang.comments)
        findings.append(
            _finding(
                change,
                f"You made assertions in {change.path} unable to fail{_shown(change.path, added)}; "
                "remove that and fix the code instead.",
                added,
            )
        )
    return findings


def _strong(lines: list[str], lang: Language) -> int:
    return sum(1 for line in lines if not lang.weak_assertion.search(line))


def _shown(path: str | None, lines: list[tuple[int, str]]) -> str:
    if not lines:
        return ""
    return " (" + "; ".join(f"{path}:{n} {quote(text)}" for n, text in lines[:5]) + ")"


def _shown_removed(lines: list[tuple[int, str]]) -> str:
    if not lines:
        return ""
    return " (" + "; ".join(f"{quote(text)}, was line {n}" for n, text in lines[:5]) + ")"


def _finding(change: FileChange, message: str, lines: list[tuple[int, str]]) -> GuardFinding:
    return GuardFinding(ID, message, file=change.path, line=lines[0][0] if lines else None)


RULE = Rule(ID, "assertions removed, weakened or made unable to fail in a changed test file", check)
