"""`corral mcp` checked by an independent client: the MCP Inspector's CLI (npm), offline.

The Inspector is installed once per machine into a cache folder outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.testing.repos import write_files
from surface_helpers import CORRAL, failing_change, go_repo, surface_args

INSPECTOR_VERSION = "0.15.0"


@pytest.fixture(scope="module")
def inspector() -> Path:
    """The Inspector's `mcp-inspector` binary, installed with npm on first use."""
    root = Path(
        os.environ.get("CORRAL_INSPECTOR_DIR", Path.home() / ".cache" / "corral" / "mcp-inspector")
    )
    binary = root / "node_modules" / ".bin" / "mcp-inspector"
    package = root / "node_modules" / "@modelcontextprotocol" / "inspector" / "package.json"
    installed = package.is_file() and json.loads(package.read_text())["version"]
    if installed != INSPECTOR_VERSION:
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root),
             f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return binary


def inspect(inspector: Path, repo: Path, cache_dir: Path, *method: str) -> dict[str, Any]:
    server = [*CORRAL, "mcp", str(repo), *surface_args(cache_dir)]
    done = subprocess.run(
        [str(inspector), "--cli", *server, "--method", *method],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_inspector_lists_verify_and_gets_the_gates_message(
    inspector: Path, tmp_path: Path, cache_dir: Path
) -> None:
    repo = go_repo(tmp_path / "repo")
    write_files(repo, failing_change())

    listed = inspect(inspector, repo, cache_dir, "tools/list")
    called = inspect(inspector, repo, cache_dir, "tools/call", "--tool-name", "verify")

    assert [tool["name"] for tool in listed["tools"]] == ["verify"]
    assert listed["tools"][0]["inputSchema"].get("properties") == {}
    assert called["isError"] is False
    [content] = called["content"]
    assert content["text"].startswith("Verification failed: go (1 problem)")
    assert "calc/calc_test.go:11" in content["text"]
