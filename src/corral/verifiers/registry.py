"""The built-in verifiers, by name, from the ecosystem registry (corral.ecosystems)."""

from __future__ import annotations

import importlib

from corral.ecosystems import ECOSYSTEMS
from corral.verifiers.base import Verifier

# name -> "module:Class", imported lazily so one broken toolchain module cannot break the rest.
BUILTIN: dict[str, str] = {ecosystem.name: ecosystem.verifier for ecosystem in ECOSYSTEMS}


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
