"""diff-too-large: more added and removed lines than the campaign allows (lock files aside)."""

from __future__ import annotations

from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.guard.protected import is_lock_file
from corral.gate.settings import RuleId

ID: RuleId = "diff-too-large"


def check(ctx: GuardContext) -> list[GuardFinding]:
    limit = ctx.settings.max_diff_lines
    counted = [c for c in ctx.diff.files if not any(is_lock_file(p) for p in c.paths)]
    total = sum(c.changed_lines for c in counted)
    if total <= limit:
        return []
    largest = sorted(counted, key=lambda c: c.changed_lines, reverse=True)[:3]
    top = ", ".join(f"{c.path} ({c.changed_lines})" for c in largest)
    return [
        GuardFinding(
            ID,
            f"Your change is {total} lines, over this campaign's limit of {limit} (largest: "
            f"{top}); keep to what the prompt asks and undo unrelated edits.",
        )
    ]


RULE = Rule(ID, "a diff larger than the campaign's limit", check)
