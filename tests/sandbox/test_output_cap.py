"""Output over the cap is cut in what is kept, never in the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.sandbox.base import CommandRunner
from corral.sandbox.bwrap import BwrapRunner
from corral.sandbox.local import LocalRunner

LOUD = "echo head; head -c 9000000 /dev/zero | tr '\\0' x; echo; echo tail; exit {code}"


def runners(tmp_path: Path, cache_dir: Path) -> list[CommandRunner]:
    return [LocalRunner(cache_dir), BwrapRunner(tmp_path, cache_dir, home_root=tmp_path / "h")]


@pytest.mark.parametrize("code", [0, 3])
def test_huge_output_is_truncated_and_the_exit_code_decides(
    code: int, tmp_path: Path, cache_dir: Path
) -> None:
    for runner in runners(tmp_path, cache_dir):
        result = runner.run(["sh", "-c", LOUD.format(code=code)], cwd=tmp_path)
        assert result.truncated, type(runner).__name__
        assert result.limit_hit is None
        assert result.ok is (code == 0), type(runner).__name__
        assert result.stdout.startswith("head\n") and result.stdout.endswith("tail\n")
        assert len(result.stdout) <= 8_100_000
