"""Broken answers at the wire: each is a transport error, retried, then one clear failure."""

from __future__ import annotations

import time

import pytest

from corral.llm import Message, make_model
from corral.llm.base import CallLimits
from corral.llm.errors import ModelTransportError
from corral.testing import BrokenAnswer, FakeModelServer, Turn
from corral.testing.fake_llm import WIRE_MODES, BrokenKind, Protocol

pytestmark = pytest.mark.usefixtures("fake_model_keys")
wire_modes = pytest.mark.parametrize(("protocol", "stream"), WIRE_MODES)
HI = [Message("user", "hi")]

EXPECTED: dict[BrokenKind, tuple[str, str]] = {
    # kind: (what a plain answer says, what a streamed one says)
    "truncated_json": ("sent a JSON answer that does not parse", "ended without"),
    "html": ("answered with text/html, not application/json", "answered with text/html"),
    "foreign_json": ("sent JSON that is not a reply", "answered with application/json"),
    "cut_stream": ("answer broke off", "ended without"),
}


@wire_modes
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_a_broken_answer_is_retried_then_a_transport_error(
    kind: BrokenKind, protocol: Protocol, stream: bool
) -> None:
    with FakeModelServer([BrokenAnswer(kind)] * 3) as server:
        model = make_model(server.model_settings(protocol, stream=stream, max_retries=2))
        with pytest.raises(ModelTransportError) as caught:
            model.complete("s", HI, [])
        asked = len(server.model_requests)
    assert asked == 3, "retried up to max_retries"
    message = str(caught.value)
    assert EXPECTED[kind][stream] in message, message
    assert message.endswith("(3 attempts)")
    assert "\n" not in message


@wire_modes
def test_a_broken_answer_then_a_good_one_is_a_reply(protocol: Protocol, stream: bool) -> None:
    with FakeModelServer([BrokenAnswer("truncated_json"), Turn(text="fine")]) as server:
        model = make_model(server.model_settings(protocol, stream=stream, max_retries=1))
        assert model.complete("s", HI, []).text == "fine"


@wire_modes
def test_endless_keepalives_end_at_the_call_deadline(protocol: Protocol, stream: bool) -> None:
    with FakeModelServer([BrokenAnswer("keepalive_forever")] * 2) as server:
        settings = server.model_settings(protocol, stream=stream, max_retries=1, timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(ModelTransportError, match="no complete answer within"):
            make_model(settings).complete("s", HI, [])
        took = time.monotonic() - started
    assert took < 5, f"two 0.5 s attempts and a 0.5 s pause took {took:.1f}s"


@wire_modes
def test_a_caller_deadline_bounds_the_call_and_its_retries(
    protocol: Protocol, stream: bool
) -> None:
    with FakeModelServer([BrokenAnswer("keepalive_forever")] * 5) as server:
        settings = server.model_settings(protocol, stream=stream, max_retries=4)
        started = time.monotonic()
        with pytest.raises(ModelTransportError):
            make_model(settings).complete("s", HI, [], limits=CallLimits(deadline=started + 1))
        took = time.monotonic() - started
        asked = len(server.model_requests)
    assert took < 3 and asked == 1


@wire_modes
def test_a_huge_answer_is_cut_as_it_arrives(protocol: Protocol, stream: bool) -> None:
    huge = Turn(text="x" * 20_000_000, output_tokens=5_000_000, chunk_chars=65_536)
    with FakeModelServer([huge]) as server:
        model = make_model(server.model_settings(protocol, stream=stream))
        started = time.monotonic()
        reply = model.complete("s", HI, [], max_tokens=1000, limits=CallLimits(max_cost_usd=1))
        took = time.monotonic() - started
    assert reply.cut is not None and reply.stop_reason == "cut"
    assert "passed" in reply.cut
    assert reply.usage.output_tokens < 100_000, "charged what arrived, not what was claimed"
    assert reply.usage.cost_usd < 1
    assert reply.tool_calls == ()
    assert took < 5


@pytest.mark.parametrize(("protocol", "stream"), [("anthropic", True), ("openai", True)])
def test_the_cost_budget_cuts_a_streamed_answer(protocol: Protocol, stream: bool) -> None:
    long = Turn(text="y" * 60_000, chunk_chars=1000)
    with FakeModelServer([long]) as server:
        model = make_model(server.model_settings(protocol, stream=stream))
        reply = model.complete("s", HI, [], max_tokens=32_000, limits=CallLimits(max_tokens=2000))
    assert reply.cut is not None and "token budget" in reply.cut
    assert reply.usage.total_tokens <= 2000 + 1000
