"""Helpers for the command-line tests: the real `corral` process, specs, runtime options.
Repositories come from corral.testing.repos (notes_repo needs no toolchain; make_remote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from corral.testing.repos import GIT_ENV

CORRAL = str(Path(sys.executable).with_name("corral"))


def corral(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **GIT_ENV, "COLUMNS": "200", **(env or {})},
    )


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
