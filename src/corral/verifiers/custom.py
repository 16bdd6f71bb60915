"""Verifiers a repository or campaign defines: a command and a regex over its output."""

from __future__ import annotations

import re
from pathlib import Path

from corral.config import CustomVerifierSpec
from corral.verifiers.base import (
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Verifier,
    run_tool,
)


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
        if result.exit_code != 0 and not findings:
            tail = "\n".join(result.output.strip().splitlines()[-5:])
            findings.append(
                Finding(
                    FindingKind.ERROR,
                    None,
                    None,
                    f"{self.spec.name} exited {result.exit_code} with nothing its pattern matches",
                    context=tail or None,
                )
            )
        return CheckOutcome(findings)
