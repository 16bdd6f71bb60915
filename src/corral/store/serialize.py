"""Verifier results to JSON and back, so a stored baseline can be handed to the gate again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.verifiers.base import VerifierResult

# The verifiers' types load when a result is converted, not with the store: through the
# sandbox they were ~50 ms of every store-opening command's start (`corral status`).


def result_to_json(result: VerifierResult) -> dict[str, Any]:
    from corral.verifiers.base import counts_json

    return {
        "name": result.name,
        "project": result.project,
        "ok": result.ok,
        "duration_s": result.duration_s,
        "findings": [
            {
                "kind": f.kind.value,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "test_id": f.test_id,
                "context": f.context,
                "new": f.new,
            }
            for f in result.findings
        ],
        "tests": None if result.tests is None else counts_json(result.tests),
        "stages": {
            name: {"status": stage.status.value, "detail": stage.detail}
            for name, stage in result.stages.items()
        },
        "sources": result.sources,
        "notes": result.notes,
    }


def result_from_json(data: dict[str, Any]) -> VerifierResult:
    from corral.verifiers.base import (
        Finding,
        FindingKind,
        StageReport,
        StageStatus,
        TestCounts,
        VerifierResult,
    )

    tests = data.get("tests")
    return VerifierResult(
        name=data["name"],
        project=data["project"],
        ok=data["ok"],
        duration_s=data["duration_s"],
        findings=[
            Finding(
                kind=FindingKind(f["kind"]),
                file=f.get("file"),
                line=f.get("line"),
                message=f["message"],
                test_id=f.get("test_id"),
                context=f.get("context"),
                new=f.get("new", True),
            )
            for f in data["findings"]
        ],
        tests=None if tests is None else TestCounts(**tests),
        stages={
            name: StageReport(StageStatus(stage["status"]), stage.get("detail"))
            for name, stage in data.get("stages", {}).items()
        },
        sources=data.get("sources", {}),
        notes=data.get("notes", []),
    )
