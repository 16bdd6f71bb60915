"""`corral demo` with the built-in agent on a model server instead of its change commands (a file
of its own so the suite's two workers can run it beside test_demo.py: pytest-xdist distributes
by file)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.testing import Call, FakeModelServer, Turn
from corral.testing.cli import CORRAL, corral_env
from corral.testing.fake_llm import FakeRequest, tool
from corral.testing.repos import git

pytestmark = pytest.mark.slow


HEADER = "SPDX-License-Identifier: Apache-2.0"
COMMENTS = {".py": "#", ".go": "//", ".rs": "//", ".js": "//"}


def header_agent(request: FakeRequest) -> Turn:
    """A model that does the demo's prompt as asked (Anthropic protocol): lists the files,
    reads the sources, writes each back with the header (after a shebang), verifies, stops."""
    messages = request.body["messages"]
    if len(messages) == 1:
        return tool("list_files", path=".")
    calls = {c["id"]: c for c in messages[-2]["content"] if c.get("type") == "tool_use"}
    results = [b for b in messages[-1]["content"] if b.get("type") == "tool_result"]
    done = {calls[r["tool_use_id"]]["name"]: r for r in results}
    if "list_files" in done:
        listed = _text(done["list_files"]).split()
        sources = [p for p in listed if Path(p).suffix in COMMENTS]
        return Turn(calls=tuple(Call("read_file", {"path": p}) for p in sources))
    if "read_file" in done:
        return Turn(calls=tuple(_with_header(calls[r["tool_use_id"]], r) for r in results))
    if "write_file" in done:
        return tool("verify")
    return Turn(text="Added the license header to every source file.")


def _with_header(read: dict[str, Any], result: dict[str, Any]) -> Call:
    path = read["input"]["path"]
    text = _text(result)
    header = f"{COMMENTS[Path(path).suffix]} {HEADER}\n"
    if text.startswith("#!"):
        shebang, _, rest = text.partition("\n")
        content = f"{shebang}\n{header}{rest}"
    else:
        content = f"{header}\n{text}"
    return Call("write_file", {"path": path, "content": content})


def _text(tool_result: dict[str, Any]) -> str:
    content = tool_result["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


def test_demo_with_the_builtin_agent_on_a_model_server(tmp_path: Path) -> None:
    """`--agent builtin` with a key and an endpoint in the environment: the agent, unlike the
    codemod, keeps the shebang first and deletes no test, so every repository gets its PR."""
    store = str(tmp_path / "corral.db")
    with FakeModelServer(header_agent) as server:
        argv = ["demo", "--agent", "builtin", "--dir", str(tmp_path / "demo"), "--store", store]
        result = subprocess.run(
            [CORRAL, *argv], capture_output=True, text=True, timeout=600,
            env={**corral_env(), "ANTHROPIC_API_KEY": "sk-fake", "ANTHROPIC_BASE_URL": server.url},
        )  # fmt: skip
        asked = len(server.model_requests)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 PR open" in result.stdout
    corral_now = "corral" if shutil.which("corral") else CORRAL  # as the user can run it
    assert f"{corral_now} status demo --store {store}" in result.stdout
    assert asked == 5 * 5  # list, read, write, verify, stop: for each repository
    fee = git(tmp_path / "demo" / "forge" / "payments-js.git", "show", "corral/demo:bin/fee.js")
    assert fee.startswith(f"#!/usr/bin/env node\n// {HEADER}\n")
    spec = (tmp_path / "demo" / "campaign.yaml").read_text()
    assert f'base_url: "{server.url}"' in spec
