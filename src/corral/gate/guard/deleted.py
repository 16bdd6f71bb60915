"""tests-deleted: a test file deleted, emptied, moved where it is not collected, or test
cases removed from it."""

from __future__ import annotations

from corral.gate.diff import Diff, FileChange
from corral.gate.guard.base import GuardContext, GuardFinding, Rule, quote, split_moved, where
from corral.gate.guard.languages import (
    Language,
    count,
    language_of,
    removed_lines_matching,
    strip_comments,
)
from corral.gate.settings import RuleId

ID: RuleId = "tests-deleted"


def check(ctx: GuardContext) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    for change in ctx.diff.files:
        lang = language_of(change.old_path or "")
        if lang is None or not _holds_tests(change, lang):
            continue
        findings.extend(_check_file(ctx.diff, change, lang))
    return findings


def _check_file(diff: Diff, change: FileChange, lang: Language) -> list[GuardFinding]:
    old = change.old_path or ""
    if change.new_path is None:
        return [_finding(change, f"You deleted the test file {old}; restore it.")]
    if lang.is_collected(change.old_path, change.old_text) and not lang.is_collected(
        change.new_path, change.new_text
    ):
        return [
            _finding(
                change,
                f"You moved the test file {old} to {change.new_path}, where the test runner no "
                "longer finds it; give it back a name its runner collects.",
            )
        ]
    if change.old_text is None or change.new_text is None:
        return []  # binary: nothing to count
    if change.old_text.strip() and not change.new_text.strip():
        return [_finding(change, f"You emptied the test file {old}; restore its tests.")]
    before = count(lang.test_definition, strip_comments(change.old_text, lang.comments))
    after = count(lang.test_definition, strip_comments(change.new_text, lang.comments))
    lines, moved = split_moved(
        diff, change, removed_lines_matching(change, lang.test_definition, lang.comments)
    )
    if after + len(moved) >= before:
        return []
    shown = "; ".join(f"{quote(text)}, was line {n}" for n, text in lines[:5])
    first = lines[0][0] if lines else None
    return [
        GuardFinding(
            ID,
            f"You removed {before - after - len(moved)} test(s) from {where(change, None)}"
            f"{' (' + shown + ')' if shown else ''}; restore them and fix the code instead.",
            file=old,
            line=first,
        )
    ]


def _holds_tests(change: FileChange, lang: Language) -> bool:
    old_text = change.old_text or ""
    return lang.is_collected(change.old_path, old_text) or (
        lang.is_test_file(change.old_path, old_text)
        and count(lang.test_definition, strip_comments(old_text, lang.comments)) > 0
    )


def _finding(change: FileChange, message: str) -> GuardFinding:
    return GuardFinding(ID, message, file=change.old_path or change.path)


RULE = Rule(ID, "a test file deleted or emptied, or test cases removed", check)
