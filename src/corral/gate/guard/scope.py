"""out-of-scope: files changed outside the campaign's scope globs."""

from __future__ import annotations

from pathspec import GitIgnoreSpec

from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.settings import RuleId

ID: RuleId = "out-of-scope"


def check(ctx: GuardContext) -> list[GuardFinding]:
    spec = GitIgnoreSpec.from_lines(ctx.settings.scope)
    scope = ", ".join(ctx.settings.scope)
    return [
        GuardFinding(
            ID,
            f"You changed {path}, which is outside this campaign's scope ({scope}); "
            "revert that change and touch only files in scope.",
            file=path,
        )
        for change in ctx.diff.files
        for path in change.paths
        if not spec.match_file(path)
    ]


RULE = Rule(ID, "files changed outside the campaign's scope globs", check)
