"""The README's first command: `corral demo` runs its campaign and shows what it should."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_helpers import corral

from corral.testing.repos import git

pytestmark = pytest.mark.slow


def test_demo_shows_prs_a_broken_build_and_a_vetoed_test(tmp_path: Path) -> None:
    store = str(tmp_path / "corral.db")
    result = corral("demo", "--dir", str(tmp_path / "demo"), "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 PR open, 2 no PR" in result.stdout
    assert "gate vetoed (verifiers): bin/fee.js:3: [compile] SyntaxError" in result.stdout
    assert "gate vetoed (guard): You deleted the test file tests/test_calc_old.py" in result.stdout
    assert f"corral status demo --store {store}" in result.stdout

    change = git(tmp_path / "demo" / "forge" / "inventory-go.git", "show", "corral/demo")
    assert "+// SPDX-License-Identifier: Apache-2.0" in change

    status = corral("status", "demo", "--store", store)
    assert status.returncode == 1  # two repositories got no PR
