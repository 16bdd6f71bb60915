"""Verifiers: does a change format, build, lint and pass its tests? In a few lines.

Public surface: `verify` (a working tree), `verify_path` (with an optional git baseline),
`VerifyReport`, `VerifierResult`, `Finding`, `FindingKind`. Each name loads its module on
first use: what imports one verifier's types (the store) does not load them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral.lazy import lazy_exports

_EXPORTS = {
    "Finding": "corral.verifiers.base",
    "FindingKind": "corral.verifiers.base",
    "TestCounts": "corral.verifiers.base",
    "VerifierResult": "corral.verifiers.base",
    "VerifyReport": "corral.verifiers.report",
    "apply_baseline": "corral.verifiers.baseline",
    "format_message": "corral.verifiers.report",
    "verify": "corral.verifiers.run",
    "verify_path": "corral.verifiers.run",
}

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


__getattr__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:
    from corral.verifiers.base import Finding, FindingKind, TestCounts, VerifierResult
    from corral.verifiers.baseline import apply_baseline
    from corral.verifiers.report import VerifyReport, format_message
    from corral.verifiers.run import verify, verify_path
