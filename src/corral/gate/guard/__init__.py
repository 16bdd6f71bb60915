"""The guard: deterministic scope and test-tampering rules on the diff; no model.

One module per rule family, each exposing `RULE` (id, short reason, check). A campaign's
`guard.allow` turns a rule's hits into notes for the judge instead of vetoes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corral.gate.guard import (
    assertions,
    build_exclusions,
    deleted,
    disabled,
    protected,
    scope,
    size,
    test_counts,
)
from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.settings import RuleId

__all__ = ["RULES", "GuardContext", "GuardFinding", "GuardReport", "Rule", "run_guard"]

RULES: tuple[Rule, ...] = (
    deleted.RULE,
    disabled.RULE,
    build_exclusions.RULE,
    assertions.RULE,
    test_counts.RULE,
    scope.RULE,
    protected.RULE,
    size.RULE,
)

MAX_MESSAGE_CHARS = 2000


@dataclass
class GuardReport:
    findings: list[GuardFinding]
    allowed: frozenset[RuleId] = field(default_factory=frozenset)

    @property
    def vetoes(self) -> list[GuardFinding]:
        return [f for f in self.findings if f.rule not in self.allowed]

    @property
    def notes(self) -> list[GuardFinding]:
        """Hits of rules the campaign allows: not vetoes, but the judge is told."""
        return [f for f in self.findings if f.rule in self.allowed]

    @property
    def ok(self) -> bool:
        return not self.vetoes

    @property
    def fired(self) -> list[RuleId]:
        """The rules that vetoed, each once, in rule order."""
        return list(dict.fromkeys(f.rule for f in self.vetoes))

    def message(self, max_chars: int = MAX_MESSAGE_CHARS) -> str:
        if self.ok:
            allowed = f" ({len(self.notes)} allowed by the campaign)" if self.notes else ""
            return f"Guard: no test tampering or out-of-scope edits found{allowed}."
        header = (
            "The guard refused this change. Fix each of these, then verify again:"
            if len(self.vetoes) > 1
            else "The guard refused this change:"
        )
        return _capped(header, [f"- {f.message}" for f in self.vetoes], max_chars)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "fired": self.fired,
            "vetoes": [f.to_json() for f in self.vetoes],
            "notes": [f.to_json() for f in self.notes],
        }


def run_guard(ctx: GuardContext) -> GuardReport:
    """Every rule on the diff; rules the campaign allows still run, as notes."""
    findings = [finding for rule in RULES for finding in rule.check(ctx)]
    return GuardReport(findings, frozenset(ctx.settings.allow))


def _capped(header: str, lines: list[str], max_chars: int) -> str:
    kept = [header]
    used = len(header)
    for i, line in enumerate(lines):
        if used + 1 + len(line) > max_chars - 20:
            kept.append(f"... and {len(lines) - i} more")
            break
        kept.append(line)
        used += 1 + len(line)
    return "\n".join(kept)
