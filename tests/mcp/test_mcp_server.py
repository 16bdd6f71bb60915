"""`corral mcp` as a real subprocess, driven by the `mcp` SDK's own client over stdio."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, TextContent

from corral.mcp import TOOL_NAME
from corral.testing.repos import write_files
from surface_helpers import (
    CORRAL,
    failing_change,
    go_repo,
    local_gate,
    passing_change,
    surface_args,
)

T = TypeVar("T")
BUILD_TOOL_WORDS = ("maven", "mvn", "gradle", "pytest", "go test", "cargo", "npm", "ruff", "mypy")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return go_repo(tmp_path_factory.mktemp("mcp") / "repo")


def with_server(repo: Path, cache_dir: Path, session: Callable[[Client], Awaitable[T]]) -> T:
    """Start `corral mcp REPO --base main` and run `session` against it."""
    params = StdioServerParameters(
        command=CORRAL[0],
        args=[*CORRAL[1:], "mcp", str(repo), *surface_args(cache_dir)],
        env={"PATH": os.environ["PATH"]},
    )

    async def run() -> T:
        async with Client(params) as client:
            return await session(client)

    return anyio.run(run)


def text_of(result: CallToolResult) -> str:
    assert not result.is_error
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def test_verify_is_the_only_tool_and_names_no_build_tool(repo: Path, cache_dir: Path) -> None:
    async def list_tools(client: Client) -> list[tuple[str, str, dict[str, object]]]:
        listed = await client.list_tools()
        return [(t.name, t.description or "", t.input_schema) for t in listed.tools]

    [(name, description, schema)] = with_server(repo, cache_dir, list_tools)
    assert name == TOOL_NAME == "verify"
    assert "check the current change" in description.lower() and "what is wrong" in description
    assert not [word for word in BUILD_TOOL_WORDS if word in description.lower()]
    assert schema.get("properties") in (None, {})


def test_verify_returns_the_gates_message_failing_then_passing(repo: Path, cache_dir: Path) -> None:
    async def verify_twice(client: Client) -> tuple[str, str]:
        write_files(repo, failing_change())
        failing = text_of(await client.call_tool(TOOL_NAME, {}))
        write_files(repo, passing_change())
        passing = text_of(await client.call_tool(TOOL_NAME, {}))
        return failing, passing

    failing, passing = with_server(repo, cache_dir, verify_twice)
    assert "calc/calc_test.go:11" in failing and "want 6" in failing
    assert passing.startswith("Gate passed")
    # exactly what the job's gate says, built in this process on the same tree
    assert passing == local_gate(repo, cache_dir).check().message
    write_files(repo, failing_change())
    assert failing == local_gate(repo, cache_dir).check().message
