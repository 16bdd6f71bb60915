"""tests-disabled: tests newly skipped, disabled or focused, in any ecosystem's own idiom."""

from __future__ import annotations

from corral.gate.diff import FileChange
from corral.gate.guard.base import GuardContext, GuardFinding, Rule, quote
from corral.gate.guard.languages import (
    Language,
    Marker,
    added_lines_matching,
    count,
    language_of,
    strip_comments,
)
from corral.gate.settings import RuleId

ID: RuleId = "tests-disabled"

_ADVICE = {
    "skipped": "re-enable it and fix the code instead",
    "focused": "remove it: it silently stops every other test from running",
}


def check(ctx: GuardContext) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    for change in ctx.diff.files:
        lang = language_of(change.new_path or "")
        if lang is None or change.new_text is None:
            continue
        for marker in lang.skip_markers:
            findings.extend(_new_markers(change, lang, marker))
    return findings


def _new_markers(change: FileChange, lang: Language, marker: Marker) -> list[GuardFinding]:
    # Counting both sides keeps a moved or re-indented existing skip from firing.
    old_text = change.old_text if language_of(change.old_path or "") is lang else None
    style = "none" if marker.in_comments else lang.comments
    before = count(marker.pattern, strip_comments(old_text or "", style))
    after = count(marker.pattern, strip_comments(change.new_text or "", style))
    if after <= before:
        return []
    lines = added_lines_matching(change, marker.pattern, style)[: after - before]
    verb = "focused tests with" if marker.kind == "focused" else "disabled a test with"
    if not lines:
        message = f"You {verb} {marker.label} in {change.path}; {_ADVICE[marker.kind]}."
        return [GuardFinding(ID, message, file=change.path)]
    return [
        GuardFinding(
            ID,
            f"You {verb} {marker.label} in {change.path}:{number} ({quote(text)}); "
            f"{_ADVICE[marker.kind]}.",
            file=change.path,
            line=number,
        )
        for number, text in lines
    ]


RULE = Rule(ID, "tests newly skipped, disabled or focused", check)
