"""Helpers for the command-line tests: the real `corral` process, specs, runtime options.
Repositories come from corral.testing.repos (notes_repo needs no toolchain; make_remote)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from corral.testing.cli import run_corral


def corral(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return run_corral(*args, env=env, timeout=timeout)


def write_spec(path: Path, **fields: Any) -> Path:
    """A campaign spec file (JSON is YAML too)."""
    path.write_text(json.dumps(fields, indent=2))
    return path


def runtime_args(tmp: Path) -> list[str]:
    return [
        "--store",
        str(tmp / "corral.db"),
        "--work-dir",
        str(tmp / "work"),
        "--sandbox",
        "local",
    ]
