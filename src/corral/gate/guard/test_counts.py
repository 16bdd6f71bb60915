"""fewer-tests-run: fewer tests executed, or more skipped, than at the base commit, from the
verifiers' own reports (a test that became skipped counts as lost)."""

from __future__ import annotations

from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.settings import RuleId
from corral.verifiers.base import TestCounts, VerifierResult

ID: RuleId = "fewer-tests-run"


def check(ctx: GuardContext) -> list[GuardFinding]:
    if ctx.baseline is None or ctx.current is None:
        return []
    current = {(r.name, r.project): r for r in ctx.current}
    findings = []
    for base in ctx.baseline:
        if base.tests is None:
            continue
        now = current.get((base.name, base.project))
        message = _compare(base, base.tests, None if now is None else now.tests)
        if message:
            project = None if base.project == "." else base.project
            findings.append(GuardFinding(ID, message, file=project))
    return findings


def _compare(base: VerifierResult, before: TestCounts, after: TestCounts | None) -> str | None:
    label = base.name if base.project == "." else f"{base.name} in {base.project}"
    if after is None:
        return (
            f"The tests of {label} no longer report any results ({before.run} ran at the base "
            "commit); make them run again."
        )
    lost = before.run - after.run
    newly_skipped = after.skipped - before.skipped
    if lost > 0:
        return (
            f"{lost} fewer test(s) ran in {label} than at the base commit "
            f"({before.run} -> {after.run}); make every test run again instead of removing, "
            "skipping or excluding it."
        )
    if newly_skipped > 0:
        return (
            f"{newly_skipped} more test(s) are skipped in {label} than at the base commit "
            f"({before.skipped} -> {after.skipped}); re-enable them and fix the code instead."
        )
    return None


RULE = Rule(ID, "fewer tests run, or more skipped, than at the base commit", check)
