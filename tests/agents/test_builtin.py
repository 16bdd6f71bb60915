"""The built-in agent end to end: real SDKs, the fake model server, real git and verifiers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import VerifierGate, pytest_repo_files, warm_go_cache

from corral.agents.base import AgentOutcome
from corral.agents.builtin import BuiltinAgent
from corral.agents.transcript import JsonlRecorder, MemoryRecorder
from corral.gate.base import Recorder
from corral.llm import ModelAuthError, make_model
from corral.llm.pricing import Price
from corral.sandbox.local import LocalRunner
from corral.spec import SessionBudgets
from corral.testing import Call, Failure, FakeModelServer, ScriptItem, Turn, replay_script
from corral.testing.fake_llm import DEFAULT_MODELS, WIRE_MODES, Protocol
from corral.testing.repos import MakeRepo, git
from corral.testing.samples import sample

__all__ = ["warm_go_cache"]  # a fixture, used by name

pytestmark = pytest.mark.usefixtures("fake_model_keys")
wire_modes = pytest.mark.parametrize(("protocol", "stream"), WIRE_MODES)
GO = sample("go")
FIX_PROMPT = "test_add fails: make `add` return the sum of its arguments."


class FanoutRecorder:
    """Sends every record to a file and to memory, so a test can read both."""

    def __init__(self, recorders: Sequence[Recorder]) -> None:
        self.recorders = list(recorders)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        for recorder in self.recorders:
            recorder.record(kind, data)


def turn(*calls: Call, text: str = "") -> Turn:
    """A reply with fixed token counts, so usage and budgets are exact."""
    return Turn(text=text, calls=calls, input_tokens=1000, output_tokens=100)


def edit(path: str, old: str, new: str) -> Call:
    return Call("edit_file", {"path": path, "old": old, "new": new})


def run_session(
    server: FakeModelServer,
    protocol: Protocol,
    stream: bool,
    repo: Path,
    cache_dir: Path,
    *,
    prompt: str = FIX_PROMPT,
    budgets: SessionBudgets | None = None,
    recorder: Any = None,
    **settings: Any,
) -> tuple[AgentOutcome, MemoryRecorder]:
    memory = MemoryRecorder()
    model = make_model(server.model_settings(protocol, stream=stream, **settings))
    agent = BuiltinAgent(model, budgets)
    gate = VerifierGate(repo, LocalRunner(cache_dir))
    sink = FanoutRecorder([memory, recorder]) if recorder is not None else memory
    return agent.run(repo, prompt, gate, sink), memory


def working_diff(repo: Path) -> str:
    git(repo, "add", "-A")
    return git(repo, "diff", "--cached")


@wire_modes
def test_a_session_reads_edits_and_verifies_a_go_module_until_it_passes(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, warm_go_cache: Path
) -> None:
    repo = make_repo(GO.failing_test())
    script = [
        turn(Call("list_files")),
        turn(Call("verify")),
        turn(Call("read_file", {"path": GO.CALC_PATH})),
        turn(edit(GO.CALC_PATH, "range xs[1:] {", "range xs {"), text="The loop skips xs[0]."),
        turn(Call("verify")),
        turn(text="Sum now adds every element."),
    ]
    with FakeModelServer(script) as server:
        outcome, record = run_session(
            server, protocol, stream, repo, warm_go_cache, prompt="Fix TestSum."
        )
        seen = [request.latest_text() for request in server.model_requests]

    assert (outcome.status, outcome.reason, outcome.turns) == ("passed", "the gate passed", 6)
    assert outcome.final_gate is not None and outcome.final_gate.ok
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (6000, 600)
    assert outcome.usage.cost_usd > 0
    assert seen[0] == "Fix TestSum."
    assert GO.CALC_PATH in seen[1].splitlines(), "the listing went back to the model"
    assert "calc_test.go:11: [test] example.com/sample/calc.TestSum" in seen[2]
    assert "range xs[1:]" in seen[3], "the file content went back to the model"
    assert seen[4] == f"Edited {GO.CALC_PATH}."
    assert seen[5].startswith("All checks passed (go; 2 tests passed)")
    diff = working_diff(repo)
    assert "-\tfor _, x := range xs[1:] {" in diff and "+\tfor _, x := range xs {" in diff
    assert [g["trigger"] for g in record.of_kind("gate")] == ["verify", "verify", "stop"]
    assert [t["name"] for t in record.of_kind("tool_call")] == [
        "list_files", "verify", "read_file", "edit_file", "verify"
    ]  # fmt: skip
    calls = record.of_kind("model_call")
    assert [c["usage"]["input_tokens"] for c in calls] == [1000] * 6
    assert all(c["duration_s"] >= 0 for c in calls + record.of_kind("tool_call"))


def gate_feedback_script() -> list[ScriptItem]:
    return [
        turn(edit("calc.py", "a - b", "a * b"), text="Multiplying."),
        turn(text="Done."),
        turn(edit("calc.py", "a * b", "a + b")),
        turn(text="Fixed: add now sums."),
    ]


@wire_modes
def test_a_failed_gate_is_fed_back_and_then_fixed(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    with FakeModelServer(gate_feedback_script()) as server:
        outcome, record = run_session(server, protocol, stream, repo, cache_dir)
        feedback = server.model_requests[2].latest_text()

    assert (outcome.status, outcome.turns) == ("passed", 4)
    assert feedback.startswith("Your change does not pass verification yet:")
    assert "test_calc.py:5: [test] assert 6 == 5" in feedback
    assert [g["ok"] for g in record.of_kind("gate")] == [False, True]
    assert (repo / "calc.py").read_text().endswith("return a + b\n")


def test_the_gate_retry_budget_ends_the_session(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo(pytest_repo_files())
    script = [turn(edit("calc.py", "a - b", "a * b")), turn(text="Done."), turn(text="Done!")]
    with FakeModelServer(script) as server:
        outcome, record = run_session(
            server, "openai", False, repo, cache_dir, budgets=SessionBudgets(max_gate_retries=1)
        )
    assert outcome.status == "gate_failed"
    assert outcome.reason.startswith("the gate still failed after 1 retries: Verification failed")
    assert outcome.final_gate is not None and not outcome.final_gate.ok
    assert len(record.of_kind("gate")) == 2


def endless_reading(delay_s: float = 0.0) -> Any:
    def script(_: object) -> Turn:
        call = Call("read_file", {"path": "calc.py"})
        return Turn(calls=(call,), input_tokens=1000, output_tokens=100, delay_s=delay_s)

    return script


@wire_modes
@pytest.mark.parametrize(
    ("budgets", "reason"),
    [
        (SessionBudgets(max_turns=3), "turn budget spent: 3 of 3 turns"),
        (SessionBudgets(max_tokens=2500), "token budget spent: 3300 of 2500 tokens"),
        (SessionBudgets(max_cost_usd=2.5), "cost budget spent: $3.0000 of $2.5000"),
    ],
    ids=["turns", "tokens", "cost"],
)
def test_each_budget_ends_the_session(
    protocol: Protocol,
    stream: bool,
    budgets: SessionBudgets,
    reason: str,
    make_repo: MakeRepo,
    cache_dir: Path,
) -> None:
    # $1 per 1000 input tokens: each turn costs exactly $1.
    prices = {DEFAULT_MODELS[protocol]: Price(input_per_mtok=1000, output_per_mtok=0)}
    repo = make_repo(pytest_repo_files())
    with FakeModelServer(endless_reading()) as server:
        outcome, _ = run_session(
            server, protocol, stream, repo, cache_dir, budgets=budgets, prices=prices
        )
        asked = len(server.model_requests)
    assert outcome.status == "budget_exhausted"
    assert outcome.reason == f"{reason}; nothing was changed"
    assert asked == outcome.turns == 3
    assert outcome.final_gate is None


@wire_modes
def test_the_wall_time_budget_ends_the_session(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    with FakeModelServer(endless_reading(delay_s=0.3)) as server:
        outcome, _ = run_session(
            server, protocol, stream, repo, cache_dir, budgets=SessionBudgets(max_wall_s=0.5)
        )
    assert outcome.status == "budget_exhausted"
    assert outcome.reason.startswith("wall-time budget spent")
    assert outcome.reason.endswith("of 0.5s; nothing was changed"), "ended within the call"
    assert 1 <= outcome.turns < SessionBudgets().max_turns


@wire_modes
def test_malformed_tool_calls_become_errors_the_model_can_read(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    broken = [Call("run_shell", {"cmd": "rm -rf /"}), Call("edit_file", {"path": "calc.py"})]
    if (protocol, stream) != ("anthropic", False):  # that wire cannot carry broken JSON
        broken.append(Call("read_file", '{"path": "calc.py"'))
    script = [
        Turn(calls=tuple(broken)),
        turn(edit("calc.py", "a - b", "a + b")),
        turn(text="Fixed."),
    ]
    repo = make_repo(pytest_repo_files())
    with FakeModelServer(script) as server:
        outcome, record = run_session(server, protocol, stream, repo, cache_dir)
        results = server.model_requests[1].latest_text()

    assert outcome.status == "passed"
    errors = [t for t in record.of_kind("tool_call") if t["is_error"]]
    assert len(errors) == len(broken)
    assert "Unknown tool 'run_shell'" in results
    assert "Bad arguments for edit_file: old: Field required; new: Field required" in results
    if len(broken) == 3:
        assert "Bad call to read_file: arguments are not valid JSON" in results
    assert (repo / "calc.py").read_text().endswith("return a + b\n")


@wire_modes
def test_path_traversal_and_a_symlink_escape_are_refused(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    outside = repo.parent / "outside.txt"
    outside.write_text("keep me\n")
    (repo / "notes.txt").symlink_to(outside)
    script = [
        Turn(
            calls=(
                Call("read_file", {"path": "../outside.txt"}),
                Call("write_file", {"path": "notes.txt", "content": "overwritten"}),
                Call("edit_file", {"path": str(outside), "old": "keep", "new": "lose"}),
            )
        ),
        turn(text="I cannot reach that file."),
    ]
    with FakeModelServer(script) as server:
        outcome, record = run_session(server, protocol, stream, repo, cache_dir)
        results = server.model_requests[1].latest_text()

    assert outcome.status == "no_change"
    assert outcome.reason == "the agent stopped without editing: I cannot reach that file."
    assert all(t["is_error"] for t in record.of_kind("tool_call"))
    assert "`..` is not allowed" in results
    assert "'notes.txt' leads outside the repository (through a symlink)" in results
    assert "use a path relative to the repository root" in results
    assert outside.read_text() == "keep me\n"
    assert record.of_kind("gate") == [], "no edit, no gate"


@pytest.mark.parametrize(
    ("recorded_on", "replayed_on"),
    [
        (("anthropic", False), ("openai", True)),
        (("anthropic", True), ("openai", False)),
        (("openai", False), ("anthropic", True)),
        (("openai", True), ("anthropic", False)),
    ],
    ids=lambda mode: f"{mode[0]}{'-stream' if mode[1] else ''}",
)
def test_a_recorded_session_replays_to_the_same_diff(
    recorded_on: tuple[Protocol, bool],
    replayed_on: tuple[Protocol, bool],
    make_repo: MakeRepo,
    cache_dir: Path,
    tmp_path: Path,
) -> None:
    """Recorded on one protocol and replayed on the other: the transcript is provider-neutral."""
    transcript = tmp_path / "session.jsonl"
    first, second = make_repo(pytest_repo_files(), "first"), make_repo(pytest_repo_files(), "two")
    with FakeModelServer(gate_feedback_script()) as server, JsonlRecorder(transcript) as jsonl:
        original, _ = run_session(server, *recorded_on, first, cache_dir, recorder=jsonl)
    with FakeModelServer(replay_script(transcript)) as server:
        replayed, _ = run_session(server, *replayed_on, second, cache_dir)
        assert server.turns_left == 0

    assert working_diff(second) == working_diff(first) != ""
    assert (replayed.status, replayed.turns, replayed.usage.total_tokens) == (
        original.status,
        original.turns,
        original.usage.total_tokens,
    )


def test_a_rejected_key_stops_the_agent_with_an_auth_error(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    script = [Failure(401, "invalid x-api-key")]
    with FakeModelServer(script) as server, pytest.raises(ModelAuthError, match="rejected"):
        run_session(server, "anthropic", True, repo, cache_dir)


def test_an_unavailable_model_ends_the_session_with_an_error(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    with FakeModelServer([Failure(529, "overloaded")] * 2) as server:
        outcome, record = run_session(server, "anthropic", False, repo, cache_dir, max_retries=1)
    assert outcome.status == "error"
    assert outcome.reason.startswith("the model call failed: Anthropic is unavailable (HTTP 529)")
    assert record.of_kind("model_call")[0]["error"].startswith("ModelUnavailableError")
