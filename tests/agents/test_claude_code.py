"""The Claude Code backend end to end: the real `claude` CLI bundled in claude-agent-sdk,
driven by corral's fake model server, on a real Go repository with the real gate.

The scripted model tries tools it must not have, edits the code and breaks a test, calls
`verify` through MCP and sees the failure, tries to stop and is blocked by the Stop hook with
the gate's message, fixes the code, and stops; the final diff passes the gate.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.agents.claude_code import VERIFY_TOOL, ClaudeCodeAgent, ClaudeCodeError
from corral.agents.transcript import MemoryRecorder
from corral.spec import SessionBudgets
from corral.testing.fake_llm import Call, FakeModelServer, FakeRequest, Turn, tool
from corral.testing.repos import git
from corral.testing.samples import go
from surface_helpers import CORRAL, TRIPLED, CountingGate, go_repo, local_gate

PROMPT = "Add a function Tripled to calc/calc.go that returns each element times three."
BUG = ("range xs {\n\t\ttotal", "range xs[1:] {\n\t\ttotal")


def main_turns(calc: Path) -> list[Turn]:
    """The main conversation, in order; each turn answers one request that offers `verify`."""
    with_tripled = go.clean()[go.CALC_PATH].replace(*BUG) + TRIPLED
    return [
        Turn(
            text="Looking around first.",
            calls=(
                Call("Read", {"file_path": "/etc/passwd"}),
                Call("Bash", {"command": "id"}),
                Call("Grep", {"pattern": "func Sum"}),
            ),
        ),
        tool("Read", file_path=str(calc)),
        tool("Write", file_path=str(calc), content=with_tripled),
        tool(VERIFY_TOOL),
        Turn(text="Tripled is added; I am done."),
        tool("Edit", file_path=str(calc), old_string=BUG[1], new_string=BUG[0]),
        Turn(text="Fixed Sum; Tripled is added."),
    ]


class ScriptedClaude:
    """Plays `turns` for the main conversation (the requests offering the verify tool) and a
    short title for any side request Claude Code makes (titles, summaries)."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.main: list[FakeRequest] = []

    def __call__(self, request: FakeRequest) -> Turn:
        offered = {t.get("name") for t in request.body.get("tools") or []}
        if VERIFY_TOOL not in offered:
            return Turn(text="Add Tripled")
        self.main.append(request)
        if len(self.main) > len(self.turns):
            return Turn(text="(the script has ended)")
        return self.turns[len(self.main) - 1]


def tool_results(request: FakeRequest) -> list[dict[str, Any]]:
    last = request.body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else []
    return [block for block in content if block.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content)
    return str(content)


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[Any, ScriptedClaude, CountingGate, MemoryRecorder, Path, FakeModelServer]:
    """One real Claude Code session, shared by the assertions below."""
    repo = go_repo(tmp_path_factory.mktemp("claude") / "repo")
    script = ScriptedClaude(main_turns(repo / go.CALC_PATH))
    gate = CountingGate(local_gate(repo, cache_dir))
    recorder = MemoryRecorder()
    with pytest.MonkeyPatch.context() as env, FakeModelServer(script) as server:
        env.setenv("ANTHROPIC_API_KEY", "sk-fake-test-key-0123456789")
        settings = server.model_settings("anthropic", model="claude-sonnet-4-5")
        agent = ClaudeCodeAgent(settings, SessionBudgets(max_turns=20, max_wall_s=600))
        outcome = agent.run(repo, PROMPT, gate, recorder)
    return outcome, script, gate, recorder, repo, server


def test_the_session_ends_with_a_change_that_passes_the_gate(session: Any) -> None:
    outcome, _, gate, recorder, repo, _ = session
    assert outcome.status == "passed", outcome.reason
    assert outcome.final_gate.ok and outcome.final_gate is gate.results[-1]
    assert (repo / go.CALC_PATH).read_text() == go.clean()[go.CALC_PATH] + TRIPLED
    assert git(repo, "status", "--porcelain") == " M calc/calc.go\n"  # nothing else left behind
    assert [r["ok"] for r in recorder.of_kind("gate") if r.get("trigger") == "final"] == [True]


def test_verify_through_mcp_shows_the_gates_failure(session: Any) -> None:
    _, script, gate, _, _, _ = session
    [verify_result] = tool_results(script.main[4])
    assert not verify_result.get("is_error")
    assert result_text(verify_result).startswith(gate.results[0].message)
    assert "calc/calc_test.go:11" in gate.results[0].message


def test_the_stop_hook_blocks_with_the_gates_message(session: Any) -> None:
    _, script, gate, _, _, _ = session
    blocked = script.main[5].last_message_text()
    assert not gate.results[1].ok
    assert gate.results[1].message in blocked  # Claude Code hands the hook's reason back
    assert gate.results[2].ok  # the hook let the fixed change stop
    assert len(gate.results) == 4  # verify, two stop attempts, corral's own final check
    assert len(script.main) == len(script.turns)  # and the session ended there


def test_claude_code_is_locked_down(session: Any) -> None:
    _, script, _, recorder, _, server = session
    first = script.main[0].body
    offered = sorted(t["name"] for t in first["tools"])
    assert offered == sorted(["Edit", "Glob", "Grep", "Read", "Write", VERIFY_TOOL])
    *denied, grep = tool_results(script.main[1])
    assert len(denied) == 2 and all(block.get("is_error") for block in denied)
    assert "root:" not in json.dumps(denied)
    assert not grep.get("is_error") and "calc/calc.go" in result_text(grep)  # in the workspace
    assert {r.body.get("model") for r in server.model_requests} == {"claude-sonnet-4-5"}
    assert recorder.of_kind("model_call") and recorder.of_kind("tool_call")


def test_only_the_messages_api_can_drive_claude_code() -> None:
    from corral.llm.settings import ModelSettings

    with pytest.raises(ClaudeCodeError, match="Anthropic Messages API only"):
        ClaudeCodeAgent(ModelSettings(provider="openai", model="gpt-4.1"))


def test_corral_change_runs_claude_code(tmp_path: Path, cache_dir: Path) -> None:
    repo = go_repo(tmp_path / "repo")
    calc = repo / go.CALC_PATH
    script = ScriptedClaude(
        [
            tool("Read", file_path=str(calc)),
            tool("Write", file_path=str(calc), content=go.clean()[go.CALC_PATH] + TRIPLED),
            Turn(text="Tripled is added."),
        ]
    )
    prompt = tmp_path / "prompt.md"
    prompt.write_text(PROMPT)
    with FakeModelServer(script) as server:
        done = subprocess.run(
            [*CORRAL, "change", str(repo), "--prompt", str(prompt), "--agent", "claude-code",
             "--provider", "anthropic", "--model", "claude-sonnet-4-5",
             "--base-url", f"{server.url}/v1/", "--json",
             "--sandbox", "local", "--cache-dir", str(cache_dir)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "ANTHROPIC_API_KEY": "sk-fake-test-key-0123456789"},
        )  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["status"], report["gate"]["ok"]) == ("passed", True)
    assert len(script.main) == 3
    # a base URL ending in /v1 is honoured: Claude Code adds /v1/messages itself
    assert {r.path for r in server.model_requests} == {"/v1/messages"}


def test_forge_and_cloud_secrets_are_blanked_for_claude_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_model_keys: str
) -> None:
    from corral.llm.settings import ModelSettings

    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_agents")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-not-for-agents")
    agent = ClaudeCodeAgent(ModelSettings(provider="anthropic", model="claude-sonnet-4-5"))
    env = agent._env(tmp_path)
    assert env["GITHUB_TOKEN"] == "" and env["AWS_SECRET_ACCESS_KEY"] == ""
    assert env["ANTHROPIC_API_KEY"]  # the one key the agent needs to reach its model
