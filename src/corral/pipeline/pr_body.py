"""What a reviewer reads under a corral pull request: what the gate checked on this very
change (the last gate run that passed), so they see why it is considered safe."""

from __future__ import annotations

from typing import Any

from corral.store import Store
from corral.store.records import GateVerdict

HEADING = "### What corral checked before opening this pull request"


def gate_section(store: Store, job_id: int) -> str:
    """A Markdown section from the job's last passing gate run ("" when none is recorded)."""
    passed = [v for v in store.gate_verdicts(job_id) if v.ok]
    if not passed:
        return ""
    return "\n".join([HEADING, "", "| check | result |", "|---|---|", *_rows(passed[-1])])


def _rows(verdict: GateVerdict) -> list[str]:
    rows: list[str] = []
    for stage in verdict.stages:
        name, details = stage.get("name"), stage.get("details") or {}
        if name == "verifiers":
            rows += [_verifier_row(v) for v in details.get("verifiers", [])]
        elif name == "guard":
            rows.append(f"| guard (scope, tests kept) | {_guard_result(stage, details)} |")
        elif name == "judge":
            rows.append(f"| judge | {_judge_result(stage)} |")
    return rows


def _verifier_row(run: dict[str, Any]) -> str:
    tests = run.get("tests") or {}
    counted = f", {tests.get('run', 0)} tests run" if tests else ""
    before = [f for f in run.get("findings", []) if not f.get("new", True)]
    result = "passed" + (f" ({len(before)} finding(s) there before the change)" if before else "")
    project = run.get("project", ".")
    return f"| `{run.get('name')}` in `{project}` | {result}{counted} |"


def _guard_result(stage: dict[str, Any], details: dict[str, Any]) -> str:
    if stage.get("skipped"):
        return "off"
    files, lines = details.get("files_changed"), details.get("lines_changed")
    return f"passed ({files} file(s), {lines} line(s) changed)"


def _judge_result(stage: dict[str, Any]) -> str:
    if stage.get("skipped"):
        return f"not run: {str(stage.get('message', '')).removeprefix('Judge: ').rstrip('.')}"
    return "approved the change as within what was asked"
