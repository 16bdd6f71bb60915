"""The fake model server, seen through the SDKs' own parsers and plain HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import claude_agent_sdk
import openai
import pytest

from corral.testing import Call, Failure, FakeModelServer, FakeRequest, Turn

TOOL = {
    "name": "read_file",
    "description": "Read a file.",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
}
TURN = Turn(
    text="Let me look at the calculator module first.",
    calls=(Call("read_file", {"path": "calc/calc.go"}),),
    input_tokens=321,
    output_tokens=45,
)


def anthropic_client(server: FakeModelServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)


def openai_client(server: FakeModelServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)


def test_anthropic_stream_events_parse_with_the_sdk_accumulator() -> None:
    with (
        FakeModelServer([TURN]) as server,
        anthropic_client(server).messages.stream(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=[TOOL],  # type: ignore[list-item]
        ) as stream,
    ):
        kinds = {event.type for event in stream}
        message = stream.get_final_message()
    assert {"message_start", "content_block_delta", "message_delta", "message_stop"} <= kinds
    assert message.content[0].type == "text"
    assert message.content[0].text == TURN.text
    assert message.content[1].type == "tool_use"
    assert message.content[1].input == {"path": "calc/calc.go"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (321, 45)


def test_openai_stream_chunks_parse_with_the_sdk_accumulator() -> None:
    with (
        FakeModelServer([TURN]) as server,
        openai_client(server).chat.completions.stream(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "hi"}],
            stream_options={"include_usage": True},
        ) as stream,
    ):
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.message.content == TURN.text
    assert choice.finish_reason == "tool_calls"
    call = (choice.message.tool_calls or [])[0]
    assert call.type == "function"
    assert call.function.name == "read_file"
    assert json.loads(call.function.arguments) == {"path": "calc/calc.go"}
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (321, 45)


def test_a_callable_script_sees_each_request_and_every_request_is_recorded() -> None:
    seen: list[str] = []

    def judge(request: FakeRequest) -> Turn:
        seen.append(request.latest_text())
        return Turn(text=f"verdict on: {request.latest_text()}")

    with FakeModelServer(judge) as server:
        reply = openai_client(server).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "the diff"}]
        )
    assert reply.choices[0].message.content == "verdict on: the diff"
    assert seen == ["the diff"]
    assert server.model_requests[0].body["model"] == "gpt-4.1"
    assert server.model_requests[0].protocol == "openai"


def test_lenient_with_what_claude_code_sends() -> None:
    """Beta headers, unknown fields, `?beta=true`, count_tokens, HEAD and model listing."""
    with FakeModelServer([Turn(text="hello")]) as server:
        body = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "metadata": {"user_id": "u"},
            "some_future_field": {"x": 1},
        }
        headers = {"anthropic-beta": "claude-code-20250219,oauth-2025", "x-api-key": "k"}
        count = _post(f"{server.url}/v1/messages/count_tokens?beta=true", body, headers)
        reply = _post(f"{server.url}/v1/messages?beta=true", body, headers)
        head = urllib.request.urlopen(urllib.request.Request(server.url, method="HEAD"))
        models = json.load(urllib.request.urlopen(f"{server.url}/v1/models"))
    assert count["input_tokens"] > 0
    assert reply["content"] == [{"type": "text", "text": "hello"}]
    assert head.status == 200
    assert models["data"][0]["id"] == "fake-model"
    assert len(server.model_requests) == 1, "count_tokens must not consume a turn"
    assert server.model_requests[0].headers["anthropic-beta"].startswith("claude-code")


def test_the_real_claude_code_cli_edits_a_file_through_the_fake(tmp_path: Path) -> None:
    claude = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    write = Call("Write", {"file_path": str(work / "hello.txt"), "content": "hi\n"})
    with FakeModelServer([Turn(calls=(write,)), Turn(text="Wrote hello.txt.")]) as server:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "ANTHROPIC_BASE_URL": server.anthropic_base_url,
            "ANTHROPIC_API_KEY": "sk-fake",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        argv = [str(claude), "-p", "Write hello.txt.", "--output-format", "json"]
        argv += ["--model", "claude-sonnet-4-6", "--permission-mode", "acceptEdits"]
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        tool_result = server.model_requests[-1].latest_text()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "Wrote hello.txt."
    assert (work / "hello.txt").read_text() == "hi\n"
    assert "File created successfully" in tool_result
    assert all(r.body.get("stream") is True for r in server.model_requests)


def test_an_exhausted_script_answers_with_a_clear_error() -> None:
    with FakeModelServer([]) as server, pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(server).messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert "no turn left" in str(caught.value)


def test_a_scripted_failure_carries_retry_after_and_the_protocol_error_shape() -> None:
    script = [Failure(429, "slow down", retry_after_s=2.5)]
    with FakeModelServer(script) as server, pytest.raises(openai.RateLimitError) as caught:
        openai_client(server).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    response = caught.value.response
    assert response.headers["retry-after"] == "3"
    assert response.headers["retry-after-ms"] == "2500"
    assert caught.value.body == {
        "message": "slow down",
        "type": "invalid_request_error",
        "param": None,
        "code": "429",
    }


def _post(url: str, body: object, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        result: dict[str, Any] = json.load(response)
        return result
