"""`corral mcp` with no options, in a checkout with an upstream: the gate judges the branch's
work since it forked from the upstream."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from corral.mcp import TOOL_NAME
from corral.testing.repos import git, make_remote, write_files
from corral.testing.samples import sample
from surface_helpers import CORRAL, failing_change


def test_mcp_with_no_options_judges_against_the_upstream(tmp_path: Path, cache_dir: Path) -> None:
    remote = make_remote(tmp_path / "forge", "calc", sample("go").clean())
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(remote), str(checkout)], check=True)
    write_files(checkout, failing_change())
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "committed work is judged too")
    params = StdioServerParameters(
        command=CORRAL[0],
        args=[
            *CORRAL[1:],
            "mcp",
            str(checkout),
            "--sandbox",
            "local",
            "--cache-dir",
            str(cache_dir),
        ],
        env={"PATH": os.environ["PATH"]},
    )

    async def verify() -> str:
        async with Client(params) as client:
            result = await client.call_tool(TOOL_NAME, {})
            return "\n".join(getattr(block, "text", "") for block in result.content)

    said = anyio.run(verify)
    assert "calc/calc_test.go:11" in said, said
