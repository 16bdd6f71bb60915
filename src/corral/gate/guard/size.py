"""diff-too-large: more added and removed lines than the campaign allows (lock files aside),
or more bytes in the files it adds or rewrites (binary, lock and generated files included)."""

from __future__ import annotations

from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.guard.protected import is_lock_file
from corral.gate.settings import RuleId

ID: RuleId = "diff-too-large"


def check(ctx: GuardContext) -> list[GuardFinding]:
    return _lines(ctx) + _bytes(ctx)


def _bytes(ctx: GuardContext) -> list[GuardFinding]:
    limit = ctx.settings.max_diff_bytes
    total = sum(c.size for c in ctx.diff.files)
    if total <= limit:
        return []
    largest = sorted(ctx.diff.files, key=lambda c: c.size, reverse=True)[:3]
    top = ", ".join(f"{c.path} ({_megabytes(c.size)})" for c in largest)
    return [
        GuardFinding(
            ID,
            f"Your change writes {_megabytes(total)}, over this campaign's limit of "
            f"{_megabytes(limit)} (largest: {top}); remove generated or binary files.",
        )
    ]


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"


def _lines(ctx: GuardContext) -> list[GuardFinding]:
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
