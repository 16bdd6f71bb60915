"""The model adapters through the real SDKs, against the fake model server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from corral.llm import (
    Message,
    ModelAuthError,
    ModelSettings,
    ModelUnavailableError,
    ToolCall,
    ToolSpec,
    make_model,
)
from corral.llm.pricing import Price, cost_usd, price_for
from corral.testing import Call, Failure, FakeModelServer, Turn
from corral.testing.fake_llm import WIRE_MODES, Protocol

TOOLS = [
    ToolSpec(
        "read_file",
        "Read a file.",
        {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    )
]
HISTORY = [
    Message("user", "Rename foo to bar."),
    Message("assistant", "Reading.", (ToolCall("c1", "read_file", {"path": "a.py"}, ""),)),
    Message("tool", "def foo(): pass", tool_call_id="c1"),
    Message("assistant", "", (ToolCall("c2", "read_file", None, '{"path": ', "bad JSON"),)),
    Message("tool", "Bad call to read_file: bad JSON", tool_call_id="c2", is_error=True),
]
pytestmark = pytest.mark.usefixtures("fake_model_keys")
wire_modes = pytest.mark.parametrize(("protocol", "stream"), WIRE_MODES)


@wire_modes
def test_a_reply_with_text_and_tool_calls_comes_back_typed_and_priced(
    protocol: Protocol, stream: bool
) -> None:
    turn = Turn(
        text="I will read both files.",
        calls=(Call("read_file", {"path": "a.py"}), Call("read_file", {"path": "b/c.py"})),
        input_tokens=1000,
        output_tokens=200,
    )
    with FakeModelServer([turn]) as server:
        model = make_model(server.model_settings(protocol, stream=stream))
        reply = model.complete("You are careful.", HISTORY, TOOLS, max_tokens=777)
        body = server.model_requests[0].body
    assert reply.text == "I will read both files."
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("read_file", {"path": "a.py"}),
        ("read_file", {"path": "b/c.py"}),
    ]
    assert reply.stop_reason == "tool_use"
    expected_cost = 1000 * 3 / 1e6 + 200 * 15 / 1e6 if protocol == "anthropic" else 0.0036
    assert reply.usage.input_tokens == 1000
    assert reply.usage.output_tokens == 200
    assert reply.usage.cost_usd == pytest.approx(expected_cost)
    assert body.get("stream", False) is stream
    _assert_history_sent(protocol, body)


def _assert_history_sent(protocol: Protocol, body: dict[str, object]) -> None:
    messages = body["messages"]
    assert isinstance(messages, list)
    if protocol == "anthropic":
        assert body["system"] == "You are careful."
        assert body["max_tokens"] == 777
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
        assert messages[1]["content"][1] == {
            "type": "tool_use",
            "id": "c1",
            "name": "read_file",
            "input": {"path": "a.py"},
        }
        assert messages[2]["content"][0]["type"] == "tool_result"
        assert messages[2]["content"][0]["tool_use_id"] == "c1"
        assert messages[4]["content"][0]["is_error"] is True
        assert body["tools"] == [
            {
                "name": "read_file",
                "description": "Read a file.",
                "input_schema": TOOLS[0].input_schema,
            }
        ]
    else:
        assert messages[0] == {"role": "system", "content": "You are careful."}
        assert body["max_tokens"] == 777, "a custom base_url means an OpenAI-compatible server"
        assert [m["role"] for m in messages] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
        ]
        assert messages[2]["tool_calls"][0]["function"] == {
            "name": "read_file",
            "arguments": '{"path": "a.py"}',
        }
        assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "def foo(): pass"}
        assert messages[4]["tool_calls"][0]["function"]["arguments"] == '{"path": '
        assert body["tools"][0]["function"]["parameters"] == TOOLS[0].input_schema  # type: ignore[index]


@pytest.mark.parametrize(
    ("protocol", "stream"), [m for m in WIRE_MODES if m != ("anthropic", False)]
)
def test_broken_tool_json_becomes_a_call_error_not_an_exception(
    protocol: Protocol, stream: bool
) -> None:
    turn = Turn(calls=(Call("read_file", '{"path": "a.py"'), Call("read_file", "[1, 2]")))
    with FakeModelServer([turn]) as server:
        reply = make_model(server.model_settings(protocol, stream=stream)).complete(
            "s", [Message("user", "hi")], TOOLS
        )
    first, second = reply.tool_calls
    assert first.arguments is None
    assert first.raw_arguments == '{"path": "a.py"'
    assert first.error is not None and "not valid JSON" in first.error
    assert second.arguments is None
    assert second.error == "arguments must be a JSON object, not list"


@wire_modes
def test_a_429_with_retry_after_is_waited_out_then_retried(
    protocol: Protocol, stream: bool
) -> None:
    script = [Failure(429, "rate limited", retry_after_s=1.5), Turn(text="ok")]
    with FakeModelServer(script) as server:
        reply = make_model(server.model_settings(protocol, stream=stream)).complete(
            "s", [Message("user", "hi")], []
        )
        first, second = server.model_requests
    assert reply.text == "ok"
    # The SDKs' own first backoff is at most 0.5 s: a longer gap means Retry-After was honoured.
    assert second.received_at - first.received_at >= 1.5


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_server_errors_are_retried_and_then_reported_as_unavailable(protocol: Protocol) -> None:
    script = [Failure(500, "boom"), Turn(text="ok"), Failure(503, "down"), Failure(503, "down")]
    with FakeModelServer(script) as server:
        model = make_model(server.model_settings(protocol, max_retries=1))
        assert model.complete("s", [Message("user", "hi")], []).text == "ok"
        with pytest.raises(ModelUnavailableError, match="503"):
            model.complete("s", [Message("user", "hi")], [])
        assert len(server.model_requests) == 4


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_a_slow_answer_times_out_as_unavailable(protocol: Protocol) -> None:
    with FakeModelServer([Turn(text="late", delay_s=5)]) as server:
        model = make_model(server.model_settings(protocol, timeout_s=0.5, max_retries=0))
        with pytest.raises(ModelUnavailableError, match="timed out"):
            model.complete("s", [Message("user", "hi")], [])


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_a_rejected_key_is_a_clear_auth_error_that_never_shows_the_key(protocol: Protocol) -> None:
    key = os.environ["OPENAI_API_KEY"]
    with FakeModelServer([Failure(401, f"invalid x-api-key {key}")]) as server:
        model = make_model(server.model_settings(protocol))
        with pytest.raises(ModelAuthError) as caught:
            model.complete("s", [Message("user", "hi")], [])
        assert len(server.model_requests) == 1, "a rejected key is not retried"
    env = "ANTHROPIC_API_KEY" if protocol == "anthropic" else "OPENAI_API_KEY"
    assert f"rejected the API key from environment variable {env} (HTTP 401)" in str(caught.value)
    assert key not in str(caught.value)


def test_a_missing_key_is_refused_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY is empty or unset"):
        make_model(ModelSettings(provider="openai", model="gpt-4.1"))
    with pytest.raises(ModelAuthError, match="MY_KEY is empty or unset"):
        make_model(ModelSettings(provider="openai", model="gpt-4.1", api_key_env="MY_KEY"))


def test_a_key_file_is_read_and_a_missing_one_is_named(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    with FakeModelServer([Turn(text="ok")]) as server:
        model = make_model(server.model_settings("openai", api_key_file=key_file))
        model.complete("s", [Message("user", "hi")], [])
        assert server.model_requests[0].headers["authorization"] == "Bearer sk-from-file"
    with pytest.raises(ModelAuthError, match=r"cannot read the API key from file .*nope"):
        make_model(ModelSettings(provider="openai", model="m", api_key_file=tmp_path / "nope"))


def test_settings_have_no_place_for_a_key() -> None:
    with pytest.raises(ValidationError, match="api_key"):
        ModelSettings.model_validate({"provider": "openai", "model": "m", "api_key": "sk-x"})


def test_prices_match_the_longest_prefix_and_can_be_overridden() -> None:
    assert price_for("claude-sonnet-4-6-20260217") == Price(input_per_mtok=3, output_per_mtok=15)
    assert price_for("gpt-4o-mini-2024-07-18") == Price(input_per_mtok=0.15, output_per_mtok=0.6)
    assert price_for("llama-3.1-8b") is None
    assert cost_usd("llama-3.1-8b", 10**6, 10**6) == 0.0
    mine = {"llama": Price(input_per_mtok=0.5, output_per_mtok=1)}
    assert cost_usd("llama-3.1-8b", 2 * 10**6, 10**6, mine) == pytest.approx(2.0)


def test_price_overrides_in_settings_reach_the_usage() -> None:
    prices = {"gpt-4.1": Price(input_per_mtok=100, output_per_mtok=0)}
    with FakeModelServer([Turn(text="ok", input_tokens=10_000, output_tokens=5)]) as server:
        reply = make_model(server.model_settings("openai", prices=prices)).complete(
            "s", [Message("user", "hi")], []
        )
    assert reply.usage.cost_usd == pytest.approx(1.0)
