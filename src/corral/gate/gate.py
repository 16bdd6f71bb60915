"""The gate: verifiers, then the guard, then the judge; the first failure stops the rest.

A stage that could not run fails the gate: nothing passes because a check did not happen.
Every run is recorded (kind "gate") with its stages, durations, findings and verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.gate.base import GateResult, Recorder, StageResult
from corral.gate.diff import Diff, compute_diff, resolve_commit
from corral.gate.guard import GuardContext, GuardReport, run_guard
from corral.gate.judge import Judge, JudgeVerdict
from corral.gate.settings import GateSettings
from corral.llm.base import ChatModel
from corral.llm.settings import make_model
from corral.sandbox.base import CommandRunner
from corral.verifiers import VerifierResult, verify
from corral.verifiers.base import FindingKind
from corral.verifiers.baseline import BaselineCheckout, baselines_dir

Stage = Callable[[], StageResult]


class StagedGate:
    """The gate on one workspace, judging the change from `base_ref` to its working tree.
    Reusable: call `check()` often (the baseline is computed once).

    `judge_model` overrides `settings.judge.model` (tests, or a model built elsewhere).
    Raises DiffError when `base_ref` names no commit in `workspace`.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        base_ref: str,
        runner: CommandRunner,
        settings: GateSettings,
        prompt: str | None = None,
        baseline: list[VerifierResult] | None = None,
        recorder: Recorder | None = None,
        judge_model: ChatModel | None = None,
    ) -> None:
        self.workspace = workspace.resolve()
        self.base = resolve_commit(self.workspace, base_ref)
        self.runner = runner
        self.settings = settings
        self.prompt = prompt
        self.recorder = recorder
        self._baseline = baseline
        self._judge_model = judge_model
        self._results: list[VerifierResult] = []
        self._diff: Diff | None = None
        self._guard_report: GuardReport | None = None

    def check(self) -> GateResult:
        started = time.monotonic()
        stages: list[StageResult] = []
        for name, stage in self._stages():
            stage_started = time.monotonic()
            result = _fail_closed(name, stage)
            result.duration_s = time.monotonic() - stage_started
            stages.append(result)
            if not result.ok:
                break
        gate_result = _gate_result(stages)
        self._record(gate_result, time.monotonic() - started)
        return gate_result

    def baseline(self) -> list[VerifierResult]:
        """The verifiers' results on the base commit, computed once per gate."""
        if self._baseline is None:
            under = baselines_dir(self.runner.cache_dir)
            with BaselineCheckout(self.workspace, self.base, under) as tree:
                self._baseline = verify(
                    tree, self.runner.for_workspace(tree), self.settings.verifiers
                ).results
        return self._baseline

    def _stages(self) -> list[tuple[str, Stage]]:
        return [("verifiers", self._verifiers), ("guard", self._guard), ("judge", self._judge)]

    def _verifiers(self) -> StageResult:
        report = verify(
            self.workspace, self.runner, self.settings.verifiers, baseline=self.baseline()
        )
        self._results = report.results
        could_not_run = not report.results or any(
            f.kind == FindingKind.ERROR for r in report.results for f in r.new_findings
        )
        return StageResult(
            "verifiers",
            ok=report.ok,
            message=report.message,
            details={
                "verifiers": report.to_json()["verifiers"],
                "could_not_run": could_not_run,
            },
        )

    def _guard(self) -> StageResult:
        self._diff = compute_diff(self.workspace, self.base)
        self._guard_report = run_guard(
            GuardContext(
                self._diff, self.settings.guard, baseline=self._baseline, current=self._results
            )
        )
        report = self._guard_report
        return StageResult(
            "guard",
            ok=report.ok,
            message=report.message(),
            details={
                **report.to_json(),
                "files_changed": len(self._diff.files),
                "lines_changed": sum(f.changed_lines for f in self._diff.files),
            },
        )

    def _judge(self) -> StageResult:
        settings = self.settings.judge
        model = self._judge_model
        if model is None and settings.model is not None and settings.mode != "off":
            model = self._judge_model = make_model(settings.model)
        mode_details = {"mode": settings.mode, "configured": model is not None}
        if settings.mode == "off" or (model is None and settings.mode == "when_configured"):
            why = "off for this campaign" if settings.mode == "off" else "no model configured"
            return StageResult(
                "judge", ok=True, message=f"Judge: {why}.", details=mode_details, skipped=True
            )
        if model is None:
            raise JudgeNotConfigured("this campaign requires the judge but no judge model is set")
        if self.prompt is None:
            raise JudgeNotConfigured("the judge needs the campaign prompt and none was given")
        assert self._diff is not None and self._guard_report is not None  # set by the guard
        outcome = Judge(
            model, max_diff_chars=settings.max_diff_chars, max_tokens=settings.max_tokens
        ).judge(self.prompt, self._diff, self._guard_report.notes)
        details = {**mode_details, **outcome.to_json()}
        if outcome.approved:
            return StageResult("judge", ok=True, message="Judge: approved.", details=details)
        return StageResult(
            "judge", ok=False, message=veto_message(outcome.verdict), details=details
        )

    def _record(self, result: GateResult, duration_s: float) -> None:
        if self.recorder is None:
            return
        failed = next((s for s in result.stages if not s.ok), None)
        could_not_run = bool(failed and failed.details.get("could_not_run"))
        vetoed_by = None
        if failed is not None and failed.name != "verifiers" and not could_not_run:
            vetoed_by = failed.name
        self.recorder.record(
            "gate",
            {
                "ok": result.ok,
                "message": result.message,
                "base": self.base,
                "duration_s": round(duration_s, 3),
                "failed_stage": None if failed is None else failed.name,
                "could_not_run": could_not_run,
                "vetoed": vetoed_by is not None,
                "vetoed_by": vetoed_by,
                "judge_mode": self.settings.judge.mode,
                "stages": [_stage_record(s) for s in result.stages],
            },
        )


class JudgeNotConfigured(RuntimeError):
    """The judge must run but cannot: no model, or no prompt to judge against."""


def veto_message(verdict: JudgeVerdict) -> str:
    """The judge's veto as the agent's next instruction."""
    lines = ["A reviewer vetoed this change:"]
    lines += [f"- {reason.strip()}" for reason in verdict.reasons if reason.strip()]
    if verdict.out_of_scope:
        lines.append("Outside what the prompt asked (revert these):")
        lines += [f"- {item.strip()}" for item in verdict.out_of_scope]
    lines.append("Address each point, keep to what the prompt asks, then verify again.")
    return "\n".join(lines)


def _fail_closed(name: str, stage: Stage) -> StageResult:
    try:
        return stage()
    except Exception as exc:  # any stage that cannot run fails the gate
        return StageResult(
            name,
            ok=False,
            message=(
                f"The gate's {name} check could not run ({type(exc).__name__}: {exc}). "
                "Nothing can pass until it runs; this is not a problem in your change."
            ),
            details={"could_not_run": True, "error": f"{type(exc).__name__}: {exc}"},
        )


def _gate_result(stages: list[StageResult]) -> GateResult:
    failed = next((s for s in stages if not s.ok), None)
    if failed is not None:
        return GateResult(ok=False, message=failed.message, stages=stages)
    ran = [s.message.rstrip(".") for s in stages if not s.skipped]
    return GateResult(ok=True, message=f"Gate passed: {'. '.join(ran)}.", stages=stages)


def _stage_record(stage: StageResult) -> dict[str, Any]:
    return {
        "name": stage.name,
        "ok": stage.ok,
        "skipped": stage.skipped,
        "duration_s": round(stage.duration_s, 3),
        "message": stage.message,
        "details": stage.details,
    }
