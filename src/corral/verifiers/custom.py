"""Verifiers a repository or campaign defines: a command and a regex over its output."""

from __future__ import annotations

import re
from pathlib import Path

from corral.config import CustomVerifierSpec
from corral.verifiers.base import (
    RAN,
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    StageReport,
    StageStatus,
    Verifier,
    run_tool,
)

_STAGE = {"format": "format", "compile": "build", "lint": "lint", "test": "test"}
"""The stage a custom verifier's `kind` of finding belongs to."""


class CustomVerifier(Verifier):
    nested = True
    markers = ()

    def __init__(self, spec: CustomVerifierSpec) -> None:
        self.spec = spec
        self.name = spec.name  # type: ignore[misc]

    def detect(self, directory: Path) -> bool:
        return next(directory.glob(self.spec.activate), None) is not None

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        result = run_tool(
            ctx,
            [*self.spec.command, *ctx.extra_args],
            self.spec.name,
            timeout_s=self.spec.timeout_s,
        )
        pattern = re.compile(self.spec.pattern)
        findings = []
        for raw in result.output.splitlines():
            match = pattern.search(raw)
            if match:
                groups = match.groupdict()
                line = groups.get("line")
                findings.append(
                    Finding(
                        kind=FindingKind(self.spec.kind),
                        file=ctx.rel(groups["file"]),
                        line=int(line) if line and line.isdigit() else None,
                        message=groups["message"].strip(),
                    )
                )
        stage = RAN
        if result.exit_code != 0 and not findings:
            tail = "\n".join(result.output.strip().splitlines()[-5:])
            why = f"{self.spec.name} exited {result.exit_code} with nothing its pattern matches"
            findings.append(Finding(FindingKind.ERROR, None, None, why, context=tail or None))
            # It failed without saying where: what it checks is unknown, so the gate's
            # "stage did not run" rule applies (at the base too, it never excuses this).
            stage = StageReport(StageStatus.STOPPED, why)
        return CheckOutcome(findings, stages={_STAGE[self.spec.kind]: stage})
