"""Every fault of a session ends in a recorded outcome: tools, budgets and broken answers,
through the real SDKs against the fake model server, and through `corral change`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_helpers import pytest_repo_files
from test_builtin import run_session
from test_cli_change import corral_change

from corral.agents.transcript import read_transcript
from corral.spec import SessionBudgets as Budgets
from corral.testing import BrokenAnswer, Call, FakeModelServer, Turn
from corral.testing.fake_llm import WIRE_MODES, Protocol
from corral.testing.repos import MakeRepo, git

pytestmark = pytest.mark.usefixtures("fake_model_keys")
wire_modes = pytest.mark.parametrize(("protocol", "stream"), WIRE_MODES)

BAD_TOOL_CALLS = [
    (Call("write_file", {"path": "calc.py/x", "content": "x"}), "a part of the path is a file"),
    (Call("write_file", {"path": "a\x00b.py", "content": "x"}), "must not contain a NUL byte"),
    (Call("read_file", {"path": "n" * 300 + ".py"}), "a file name in the path is too long"),
    (Call("edit_file", {"path": "d/" + "n" * 300, "old": "a", "new": "b"}), "does not exist"),
    (Call("list_files", {"path": "calc.py\x00"}), "must not contain a NUL byte"),
]


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


@wire_modes
def test_tool_errors_go_back_to_the_model_and_the_record(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    script = [Turn(calls=(call,)) for call, _ in BAD_TOOL_CALLS] + [Turn(text="I give up.")]
    with FakeModelServer(script) as server:
        outcome, record = run_session(server, protocol, stream, repo, cache_dir)
        results = [request.latest_text() for request in server.model_requests[1:]]
    assert outcome.status == "no_change"
    tools = record.of_kind("tool_call")
    assert len(tools) == len(BAD_TOOL_CALLS) and all(t["is_error"] for t in tools)
    for (_, expected), result, tool in zip(BAD_TOOL_CALLS, results, tools, strict=True):
        assert expected in result and expected in tool["result"]
    assert record.of_kind("note")[-1]["event"] == "end"
    assert git(repo, "status", "--porcelain") == ""


def test_a_catastrophic_regex_is_stopped_and_reported(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo({**pytest_repo_files(), "data.txt": "a" * 40 + "!\n"})
    search = Call("search", {"pattern": "(a|aa)+$", "regex": True})
    with FakeModelServer([Turn(calls=(search,)), Turn(text="Never mind.")]) as server:
        outcome, record = run_session(server, "openai", False, repo, cache_dir)
    (tool,) = record.of_kind("tool_call")
    assert tool["is_error"] and "took over 5 s and was stopped" in tool["result"]
    assert tool["duration_s"] < 8
    assert outcome.status == "no_change"


def test_a_bad_path_through_the_cli_is_a_tool_result_not_a_crash(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    transcript = tmp_path / "session.jsonl"
    script = [Turn(calls=(call,)) for call, _ in BAD_TOOL_CALLS] + [Turn(text="Stuck.")]
    with FakeModelServer(script) as server:
        done = corral_change(repo, server, "anthropic", cache_dir, "--json",
                             "--transcript", str(transcript))  # fmt: skip
    assert_clean(done.stderr)
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "no_change"
    records = read_transcript(transcript)
    assert sum(r["kind"] == "tool_call" for r in records) == len(BAD_TOOL_CALLS)
    assert records[-1]["data"]["event"] == "end"


def test_spending_every_turn_without_a_change_is_budget_exhausted(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files("return a + b"))  # the gate passes untouched
    script = [Turn(calls=(Call("read_file", {"path": "calc.py"}),))] * 50
    with FakeModelServer(script) as server:
        done = corral_change(repo, server, "openai", cache_dir, "--json")
    assert_clean(done.stderr)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["ok"], report["status"], report["turns"]) == (False, "budget_exhausted", 50)
    assert report["reason"] == "turn budget spent: 50 of 50 turns; nothing was changed"


def test_a_huge_answer_is_cut_and_recorded_through_the_cli(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    transcript = tmp_path / "session.jsonl"
    huge = Turn(text="z" * 30_000_000, output_tokens=7_500_000, chunk_chars=65_536)
    with FakeModelServer([huge]) as server:
        done = corral_change(repo, server, "anthropic", cache_dir, "--json", "--stream",
                             "--transcript", str(transcript))  # fmt: skip
    assert_clean(done.stderr)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["status"] == "budget_exhausted"
    assert report["reason"].startswith("the model's answer was cut: the answer passed")
    assert report["usage"]["cost_usd"] < 10, "charged what arrived, within the $10 budget"
    (call,) = [r["data"] for r in read_transcript(transcript) if r["kind"] == "model_call"]
    assert call["cut"] and call["reply"]["stop_reason"] == "cut"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", ["truncated_json", "html", "cut_stream"])
def test_a_broken_answer_through_the_cli_is_a_recorded_error(
    kind: str, stream: bool, make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    transcript = tmp_path / "session.jsonl"
    options = ["--json", "--transcript", str(transcript), *(["--stream"] if stream else [])]
    with FakeModelServer([BrokenAnswer(kind)] * 5) as server:  # type: ignore[arg-type]
        done = corral_change(repo, server, "openai", cache_dir, *options)
        asked = len(server.model_requests)
    assert_clean(done.stderr)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["ok"], report["status"]) == (False, "error")
    assert report["reason"].startswith("the model call failed: OpenAI")
    assert report["reason"].endswith("(5 attempts)")
    assert asked == 5, "max_retries 4, then a clear failure"
    (call,) = [r["data"] for r in read_transcript(transcript) if r["kind"] == "model_call"]
    assert call["error"].startswith("ModelTransportError: ")


@wire_modes
def test_endless_keepalives_end_the_session_at_its_wall_time(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    with FakeModelServer([BrokenAnswer("keepalive_forever")] * 5) as server:
        outcome, record = run_session(
            server, protocol, stream, repo, cache_dir, budgets=Budgets(max_wall_s=1.5)
        )
    assert outcome.status == "budget_exhausted"
    assert outcome.reason.startswith("wall-time budget spent during a model call")
    (call,) = record.of_kind("model_call")
    assert "no complete answer within the call's deadline" in call["error"]
    assert call["duration_s"] < 4


def test_an_existing_transcript_is_refused_before_any_work(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    transcript = tmp_path / "old.jsonl"
    transcript.write_text('{"seq": 1}\n')
    with FakeModelServer([Turn(text="hi")]) as server:
        done = corral_change(repo, server, "openai", cache_dir, "--transcript", str(transcript))
        asked = len(server.model_requests)
    assert_clean(done.stderr)
    assert done.returncode == 2 and asked == 0
    assert "exists already" in " ".join(done.stderr.split())
    assert transcript.read_text() == '{"seq": 1}\n'
