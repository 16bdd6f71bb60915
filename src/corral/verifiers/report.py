"""The verify report and the short message an agent is shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.verifiers.base import Finding, FindingKind, VerifierResult, counts_json

DEFAULT_MAX_CHARS = 2000
_CONTEXT_LINES = 6

# Most actionable first: a check that could not run hides everything behind it.
_KIND_ORDER = {
    FindingKind.ERROR: 0,
    FindingKind.COMPILE: 1,
    FindingKind.TEST: 2,
    FindingKind.LINT: 3,
    FindingKind.FORMAT: 4,
}


@dataclass
class VerifyReport:
    results: list[VerifierResult]
    message: str

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        """The `corral verify --json` contract (shared/DESIGN.md), plus a few extra keys."""
        return {
            "ok": self.ok,
            "message": self.message,
            "verifiers": [
                {
                    "name": r.name,
                    "project": r.project,
                    "ok": r.ok,
                    "duration_s": round(r.duration_s, 3),
                    "tests": None if r.tests is None else counts_json(r.tests),
                    "sources": r.sources,
                    "notes": r.notes,
                    "stages": {
                        name: {"status": stage.status.value, "detail": stage.detail}
                        for name, stage in r.stages.items()
                    },
                    "findings": [_finding_json(f) for f in r.findings],
                }
                for r in self.results
            ],
        }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "file": f.file,
        "line": f.line,
        "message": f.message,
        "kind": f.kind.value,
        "test_id": f.test_id,
        "new": f.new,
    }


def format_message(results: list[VerifierResult], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """One line on success; otherwise the new findings, most relevant first, capped."""
    if not results:
        return "Nothing to verify: no supported project was found."
    failing = [r for r in results if not r.ok]
    notes = _notes(results)
    if not failing:
        return _success_line(results) + notes
    findings = sorted(
        ((r, f) for r in failing for f in r.new_findings),
        key=lambda pair: (_KIND_ORDER[pair[1].kind], pair[1].file or "", pair[1].line or 0),
    )
    counts = ", ".join(f"{_label(r)} ({_count(len(r.new_findings), 'problem')})" for r in failing)
    if all(f.kind == FindingKind.ERROR for _, f in findings):
        # Nothing says the change is wrong: a check could not run, or not to the end.
        header = f"Could not verify: {counts}. {COULD_NOT_VERIFY_HINT}"
    else:
        header = f"Verification failed: {counts}"
    return _fit(header + notes, [_render(r, f) for r, f in findings], max_chars)


def _notes(results: list[VerifierResult]) -> str:
    """Each note once: what the reader must know to weigh the findings (a missing pin)."""
    unique = dict.fromkeys(n for r in results for n in r.notes)
    return "".join(f"\nNote: {n}" for n in unique)


COULD_NOT_VERIFY_HINT = (
    "No fault of the change was found, but a check did not run to the end, so nothing can pass yet:"
)


def _success_line(results: list[VerifierResult]) -> str:
    """Always says how many tests ran: a pass with no tests is never a silent one."""
    counted = [r.tests for r in results if r.tests is not None]
    tests = sum(t.run for t in counted)
    names = ", ".join(_label(r) for r in results)
    if tests:
        suffix = f"{_count(tests, 'test')} passed"
    elif counted:
        suffix = "no tests ran"
    else:
        suffix = "no test results reported"
    return f"All checks passed ({names}; {suffix})."


def _label(r: VerifierResult) -> str:
    return r.name if r.project == "." else f"{r.name} in {r.project}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _render(r: VerifierResult, f: Finding) -> str:
    where = f.file or (r.name if r.project == "." else r.project)
    if f.file and f.line:
        where = f"{f.file}:{f.line}"
    subject = f" {f.test_id}:" if f.test_id else ""
    message_lines = f.message.strip().splitlines() or [""]
    first = f"- {where}: [{f.kind.value}]{subject} {message_lines[0]}"
    extra = message_lines[1:]
    if f.context:
        extra += f.context.rstrip().splitlines()
    extra = extra[:_CONTEXT_LINES]
    return "\n".join([first, *(f"    {line}" for line in extra)])


def _fit(header: str, blocks: list[str], max_chars: int) -> str:
    lines = [header]
    used = len(header)
    for i, block in enumerate(blocks):
        more = len(blocks) - i
        reserve = len(f"\n... and {more} more")
        if used + 1 + len(block) + reserve > max_chars:
            first_line = block.splitlines()[0]
            if used + 1 + len(first_line) + reserve <= max_chars:
                lines.append(first_line)
                used += 1 + len(first_line)
                more -= 1
            if more:
                lines.append(f"... and {more} more")
            break
        lines.append(block)
        used += 1 + len(block)
    return "\n".join(lines)[:max_chars]
