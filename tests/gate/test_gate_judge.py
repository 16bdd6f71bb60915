"""The judge stage through the real SDKs against corral's fake model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_helpers import CHECK_SCRIPT, ListRecorder, grep_verifier

from corral.gate.base import Gate
from corral.gate.gate import StagedGate
from corral.gate.judge import parse_verdict
from corral.gate.settings import GateSettings, JudgeSettings
from corral.sandbox.base import CommandRunner
from corral.testing.fake_llm import Failure, FakeModelServer, Protocol, Turn
from corral.testing.repos import MakeRepo

pytestmark = pytest.mark.usefixtures("fake_model_keys")

PROMPT = "Rename the greeting from hello to hi."
APPROVE = json.dumps({"verdict": "approve", "reasons": ["does what was asked"], "out_of_scope": []})
VETO = json.dumps(
    {
        "verdict": "veto",
        "reasons": ["greet.txt also changes the farewell, which the prompt did not ask for"],
        "out_of_scope": ["greet.txt: farewell line"],
    }
)


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    root = make_repo({"check.sh": CHECK_SCRIPT, "greet.txt": "hello\nbye\n"})
    (root / "greet.txt").write_text("hi\nfarewell\n")
    return root


def judged_gate(
    repo: Path,
    runner: CommandRunner,
    server: FakeModelServer,
    protocol: Protocol = "anthropic",
    recorder: ListRecorder | None = None,
    prompt: str | None = PROMPT,
) -> Gate:
    judge = JudgeSettings(mode="required", model=server.model_settings(protocol, max_retries=0))
    settings = GateSettings(verifiers=grep_verifier(), judge=judge)
    return StagedGate(
        repo, base_ref="HEAD", runner=runner, settings=settings, prompt=prompt, recorder=recorder
    )


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_approval_passes_and_the_judge_saw_prompt_and_diff(
    repo: Path, local_runner: CommandRunner, protocol: Protocol
) -> None:
    recorder = ListRecorder()
    with FakeModelServer([Turn(text=APPROVE)]) as server:
        result = judged_gate(repo, local_runner, server, protocol, recorder).check()
        [request] = server.model_requests
    assert result.ok, result.message
    assert [(s.name, s.ok) for s in result.stages] == [
        ("verifiers", True),
        ("guard", True),
        ("judge", True),
    ]
    sent = request.last_message_text()
    assert PROMPT in sent and "+farewell" in sent and "-bye" in sent
    judge_record = recorder.gates[0]["stages"][2]["details"]
    assert judge_record["verdict"] == "approve" and judge_record["mode"] == "required"
    assert judge_record["prompt_version"] == "judge-v1"


def test_veto_reasons_become_the_agents_next_instruction(
    repo: Path, local_runner: CommandRunner
) -> None:
    recorder = ListRecorder()
    with FakeModelServer([Turn(text=f"```json\n{VETO}\n```")]) as server:
        result = judged_gate(repo, local_runner, server, recorder=recorder).check()
    assert not result.ok
    assert result.stages[-1].name == "judge"
    assert "farewell, which the prompt did not ask for" in result.message
    assert "greet.txt: farewell line" in result.message
    record = recorder.gates[0]
    assert record["vetoed"] is True and record["vetoed_by"] == "judge"


def test_an_unparsable_reply_is_retried_once(repo: Path, local_runner: CommandRunner) -> None:
    with FakeModelServer([Turn(text="Looks good to me!"), Turn(text=APPROVE)]) as server:
        result = judged_gate(repo, local_runner, server).check()
        retry = server.model_requests[1]
    assert result.ok, result.message
    assert "not a valid verdict" in retry.last_message_text()
    assert result.stages[-1].details["attempts"] == 2


def test_two_unparsable_replies_fail_closed(repo: Path, local_runner: CommandRunner) -> None:
    recorder = ListRecorder()
    bad = json.dumps({"verdict": "maybe", "reasons": []})
    with FakeModelServer([Turn(text="Looks good"), Turn(text=bad)]) as server:
        result = judged_gate(repo, local_runner, server, recorder=recorder).check()
        assert len(server.model_requests) == 2
    assert not result.ok
    assert "could not run" in result.message
    record = recorder.gates[0]
    assert record["could_not_run"] is True and record["vetoed"] is False


def test_a_required_judge_that_is_unreachable_fails_closed(
    repo: Path, local_runner: CommandRunner
) -> None:
    with FakeModelServer([Failure(503, "overloaded")]) as server:
        result = judged_gate(repo, local_runner, server).check()
    assert not result.ok
    assert result.stages[-1].name == "judge" and result.stages[-1].details["could_not_run"]
    assert "503" in result.message


def test_a_required_judge_without_a_model_fails_closed(
    repo: Path, local_runner: CommandRunner
) -> None:
    settings = GateSettings(verifiers=grep_verifier(), judge=JudgeSettings(mode="required"))
    gate = StagedGate(repo, base_ref="HEAD", runner=local_runner, settings=settings, prompt=PROMPT)
    result = gate.check()
    assert not result.ok and "requires the judge" in result.message


def test_judge_off_or_unconfigured_is_skipped_and_says_so(
    repo: Path, local_runner: CommandRunner
) -> None:
    for mode in ("off", "when_configured"):
        settings = GateSettings(verifiers=grep_verifier(), judge=JudgeSettings(mode=mode))
        result = StagedGate(repo, base_ref="HEAD", runner=local_runner, settings=settings).check()
        assert result.ok, result.message
        judge = result.stages[-1]
        assert judge.name == "judge" and judge.skipped and judge.details["mode"] == mode


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ('{"verdict": "veto", "reasons": [], "out_of_scope": []}', "at least one reason"),
        ('{"verdict": "approve", "reasons": [], "out_of_scope": ["x"]}', "cannot list"),
        ('{"verdict": "approve", "reasons": [], "out_of_scope": [], "extra": 1}', "extra"),
        ('Sure! {"verdict": "approve", "reasons": [], "out_of_scope": []}', "Invalid JSON"),
        ('{"verdict": "approve", "reasons": "fine", "out_of_scope": []}', "reasons"),
    ],
)
def test_verdicts_are_parsed_strictly(reply: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_verdict(reply)
