"""The built-in verifiers, by name, from the ecosystem registry (corral.ecosystems)."""

from __future__ import annotations

import importlib
from pathlib import Path

from corral.ecosystems import ECOSYSTEMS
from corral.verifiers.base import CheckOutcome, ProjectContext, Verifier

# name -> "module:Class", imported lazily so one broken toolchain module cannot break the rest.
BUILTIN: dict[str, str] = {ecosystem.name: ecosystem.verifier for ecosystem in ECOSYSTEMS}

MARKERS: dict[str, tuple[str, ...]] = {e.name: e.markers for e in ECOSYSTEMS}


class LazyVerifier(Verifier):
    """A built-in verifier whose module is imported only once a folder has one of its
    markers: importing all six (their parsers' regexes, JUnit XML, Node's script reading)
    cost 0.15-0.35 s of every `corral verify` on a loaded machine, for a repository that
    needs one or two of them."""

    def __init__(self, name: str, target: str) -> None:
        self.name = name  # type: ignore[misc]
        self.markers = MARKERS[name]  # type: ignore[misc]
        self._target = target
        self._loaded: Verifier | None = None

    @property
    def loaded(self) -> Verifier:
        if self._loaded is None:
            module_name, class_name = self._target.split(":")
            cls: type[Verifier] = getattr(importlib.import_module(module_name), class_name)
            self._loaded = cls()
            self.nested = self._loaded.nested  # type: ignore[misc]
        return self._loaded

    def detect(self, directory: Path) -> bool:
        return super().detect(directory) and self.loaded.detect(directory)

    def prepare(self, ctx: ProjectContext) -> None:
        self.loaded.prepare(ctx)

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        return self.loaded.check(ctx)


def builtin_verifiers(disabled: frozenset[str] = frozenset()) -> list[Verifier]:
    unknown = disabled - BUILTIN.keys()
    if unknown:
        raise ValueError(f"unknown verifier(s) to disable: {', '.join(sorted(unknown))}")
    return [LazyVerifier(name, target) for name, target in BUILTIN.items() if name not in disabled]
