"""Verifiers: does a change format, build, lint and pass its tests? In a few lines.

Public surface: `verify` (a working tree), `verify_path` (with an optional git baseline),
`VerifyReport`, `VerifierResult`, `Finding`, `FindingKind`.
"""

from __future__ import annotations

from pathlib import Path

from corral.config import VerifierSettings
from corral.sandbox.base import CommandRunner
from corral.verifiers.base import Finding, FindingKind, TestCounts, VerifierResult
from corral.verifiers.baseline import BaselineCheckout, apply_baseline, baselines_dir
from corral.verifiers.report import VerifyReport, format_message
from corral.verifiers.run import ProgressCallback, verify

__all__ = [
    "Finding",
    "FindingKind",
    "TestCounts",
    "VerifierResult",
    "VerifyReport",
    "apply_baseline",
    "format_message",
    "verify",
    "verify_path",
]


def verify_path(
    path: Path,
    runner: CommandRunner,
    settings: VerifierSettings | None = None,
    *,
    baseline_ref: str | None = None,
    prepare: bool = True,
    on_progress: ProgressCallback | None = None,
) -> VerifyReport:
    """verify(), first running the same verifiers on `baseline_ref` when one is given."""
    baseline = None
    if baseline_ref is not None:
        under = baselines_dir(runner.cache_dir)
        with BaselineCheckout(path.resolve(), baseline_ref, under) as tree:
            baseline = verify(
                tree, runner.for_workspace(tree), settings, prepare=prepare, on_progress=on_progress
            ).results
    return verify(
        path, runner, settings, prepare=prepare, baseline=baseline, on_progress=on_progress
    )
