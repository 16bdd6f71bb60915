"""Claude Code runs in the sandbox like every other agent: its Bash (and everything else it
starts) is an unprivileged user that sees no host secret and reaches nothing but the model
endpoint, here corral's fake model server on the host's loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_attack import host_listeners

from corral.agents.claude_code import ClaudeCodeAgent
from corral.agents.transcript import MemoryRecorder
from corral.gate.base import GateResult
from corral.spec import SessionBudgets
from corral.testing.fake_llm import FakeModelServer, FakeRequest, Turn, tool
from corral.testing.repos import init_repo

PROBE = """\
import os, socket
report = [f"uid {os.getuid()}"]
for path in ("/etc/shadow", "/root/.bash_history", os.path.expanduser("~root/.profile")):
    try:
        open(path).read()
        report.append(f"ESCAPED read {path}")
    except OSError:
        report.append(f"blocked read {path}")
for label, family, address in (
    ("host loopback", socket.AF_INET, ("127.0.0.1", PORT)),
    ("host abstract socket", socket.AF_UNIX, "\\0ABSTRACT"),
):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(address)
        report.append(f"ESCAPED {label}")
    except OSError:
        report.append(f"blocked {label}")
open("probe-report.txt", "w").write("\\n".join(report) + "\\n")
"""


class PassingGate:
    def check(self) -> GateResult:
        return GateResult(ok=True, message="ok", stages=[])


class Script:
    def __init__(self, turns: list[Turn]) -> None:
        self.turns, self.served = turns, 0

    def __call__(self, request: FakeRequest) -> Turn:
        if not request.body.get("tools"):
            return Turn(text="Probe")
        self.served += 1
        return self.turns[min(self.served, len(self.turns)) - 1]


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "sandbox-removed"])
def test_claude_codes_bash_is_confined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandboxed: bool
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fakeForgeToken0001")
    repo = init_repo(tmp_path / "repo", {"README.md": "probe\n"})
    with host_listeners() as listener:
        probe = PROBE.replace("PORT", str(listener.port)).replace(
            "ABSTRACT", listener.abstract_name
        )
        script = Script(
            [
                tool("Write", file_path=str(repo / "probe.py"), content=probe),
                tool("Bash", command="python3 probe.py"),
                Turn(text="Done."),
            ]
        )
        with FakeModelServer(script) as server:
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-fake-test-key-0123456789")
            settings = server.model_settings("anthropic", model="claude-sonnet-4-5")
            budgets = SessionBudgets(max_turns=6, max_wall_s=300)
            agent = ClaudeCodeAgent(
                settings, budgets, bash_allow=["python3:*"], sandboxed=sandboxed
            )
            agent.run(repo, "Probe the machine.", PassingGate(), MemoryRecorder())  # type: ignore[arg-type]
        report = (repo / "probe-report.txt").read_text()
    assert script.served >= 3  # the model endpoint, on the host's loopback, was reachable
    if not sandboxed:  # what the test would see without the sandbox
        assert "uid 0" in report and "ESCAPED host loopback" in report, report
        return
    assert "uid 1000" in report, report
    assert "ESCAPED" not in report, report
    assert "blocked host loopback" in report
    assert listener.connections == []
