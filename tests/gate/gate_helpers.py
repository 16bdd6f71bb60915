"""Helpers shared by the gate tests: a toolchain-free verifier and a list recorder."""

from __future__ import annotations

from typing import Any

from corral.config import CustomVerifierSpec, VerifierSettings
from corral.verifiers.registry import BUILTIN

CHECK_SCRIPT = "grep -Hn BROKEN *.txt | sed 's/:BROKEN.*/: broken line/'\n"
"""A verifier that needs no toolchain: every line containing BROKEN is a finding."""


def grep_verifier(command: list[str] | None = None) -> VerifierSettings:
    return VerifierSettings(
        disable=sorted(BUILTIN),
        custom=[
            CustomVerifierSpec(
                name="grep",
                activate="*.txt",
                command=command or ["sh", "check.sh"],
                pattern=r"^(?P<file>[^:]+):(?P<line>\d+): (?P<message>.*)$",
                kind="test",
            )
        ],
    )


class ListRecorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.records.append((kind, data))

    @property
    def gates(self) -> list[dict[str, Any]]:
        return [data for kind, data in self.records if kind == "gate"]
