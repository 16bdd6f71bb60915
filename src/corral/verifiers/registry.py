"""The built-in verifiers, by name. Adding an ecosystem is adding a module and a line here."""

from __future__ import annotations

import importlib

from corral.verifiers.base import Verifier

# name -> "module:Class", imported lazily so one broken toolchain module cannot break the rest.
BUILTIN: dict[str, str] = {
    "maven": "corral.verifiers.maven:MavenVerifier",
    "gradle": "corral.verifiers.gradle:GradleVerifier",
    "node": "corral.verifiers.node:NodeVerifier",
    "python": "corral.verifiers.python:PythonVerifier",
    "go": "corral.verifiers.go:GoVerifier",
    "cargo": "corral.verifiers.cargo:CargoVerifier",
}


def builtin_verifiers(disabled: frozenset[str] = frozenset()) -> list[Verifier]:
    unknown = disabled - BUILTIN.keys()
    if unknown:
        raise ValueError(f"unknown verifier(s) to disable: {', '.join(sorted(unknown))}")
    verifiers = []
    for name, target in BUILTIN.items():
        if name in disabled:
            continue
        module_name, class_name = target.split(":")
        cls: type[Verifier] = getattr(importlib.import_module(module_name), class_name)
        verifiers.append(cls())
    return verifiers
