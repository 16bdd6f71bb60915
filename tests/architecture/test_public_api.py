"""`import corral` is cheap and its documented names resolve."""

from __future__ import annotations

import subprocess
import sys

import corral


def test_every_exported_name_resolves() -> None:
    for name in corral.__all__:
        assert getattr(corral, name) is not None, name


def test_importing_corral_loads_no_part() -> None:
    code = "import sys, corral; print(sorted(m for m in sys.modules if m.startswith('corral.')))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['corral.lazy']"  # the PEP 562 helper, a leaf: no part
