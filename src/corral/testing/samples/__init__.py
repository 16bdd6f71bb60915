"""Small sample projects of each ecosystem, generated as files: for tests, benchmarks and the demo.

Each module here (maven.py, go.py, ...) defines the same names, so a caller can take any
ecosystem alike:

    NAME: str                         # the verifier that should apply ("go")
    RAW_COMMANDS: list[list[str]]     # what a developer would run by hand to check `clean()`
                                      # once prepared (for bench/verify_overhead.py)
    def clean() -> dict[str, str]            # passes every check
    def compile_error() -> dict[str, str]    # clean() with one compile error
    def failing_test() -> dict[str, str]     # clean() with one failing assertion
    def lint_violation() -> dict[str, str]   # clean() with one format or lint violation

Paths are relative to the repository root, contents are text.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from corral import ecosystems as registry

ECOSYSTEMS = tuple(e.sample for e in registry.ECOSYSTEMS if e.sample)
"""Gradle has no sample: no Gradle distribution can be fetched on these machines."""


def sample(ecosystem: str) -> ModuleType:
    if ecosystem not in ECOSYSTEMS:
        raise ValueError(f"no sample for {ecosystem!r}; known: {', '.join(ECOSYSTEMS)}")
    return importlib.import_module(f"corral.testing.samples.{ecosystem}")
