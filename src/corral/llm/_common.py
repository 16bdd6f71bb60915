"""What both adapters share: the SDK client's options, tool-argument parsing, pricing a call,
and the guards around one call: its deadline, what its answer may weigh, and its retries."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from corral.llm.base import CallLimits, ModelReply, ToolCall, Usage
from corral.llm.errors import ModelTransportError, ModelUnavailableError
from corral.llm.pricing import cost_usd
from corral.llm.settings import ApiKey, ModelSettings

CHARS_PER_TOKEN = 4
"""For estimating the tokens of an answer still arriving (the providers count at the end)."""
MAX_CHARS_PER_TOKEN = 16
"""No real answer of n tokens is longer than this many characters a token: past it, cut."""
PREVIEW_CHARS = 2_000
"""How much of a cut answer is kept, for the transcript."""
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)

M = TypeVar("M", bound=BaseModel)


def client_options(settings: ModelSettings, key: ApiKey) -> dict[str, Any]:
    """The arguments both SDK clients take: key, endpoint, the SDK's own retries, timeout."""
    return {
        "api_key": key.value,
        "base_url": settings.base_url,
        "max_retries": settings.max_retries,
        "timeout": settings.timeout_s,
    }


def parse_tool_call(call_id: str, name: str, raw_arguments: str) -> ToolCall:
    """A ToolCall whose arguments are None, with `error` set, when they are not a JSON object."""
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as exc:
        return ToolCall(call_id, name, None, raw_arguments, f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        error = f"arguments must be a JSON object, not {type(arguments).__name__}"
        return ToolCall(call_id, name, None, raw_arguments, error)
    return ToolCall(call_id, name, arguments, raw_arguments)


def priced_usage(
    settings: ModelSettings, model: str, input_tokens: int, output_tokens: int
) -> Usage:
    cost = cost_usd(model or settings.model, input_tokens, output_tokens, settings.prices)
    return Usage(input_tokens, output_tokens, cost)


class AnswerCut(Exception):
    """The answer went over a limit while it arrived; the meter says how much had come."""


class Meter:
    """What has arrived of one answer, checked against the call's limits at every piece."""

    def __init__(
        self, settings: ModelSettings, limits: CallLimits | None, max_output_tokens: int
    ) -> None:
        self.settings = settings
        self.limits = limits or CallLimits()
        self.max_chars = max_output_tokens * MAX_CHARS_PER_TOKEN + 65_536
        self.model = settings.model
        self.input_tokens = 0
        self.chars = 0
        self.preview: list[str] = []
        self.cut_reason = ""

    def add(self, text: str) -> None:
        if sum(map(len, self.preview)) < PREVIEW_CHARS:
            self.preview.append(text[:PREVIEW_CHARS])
        self.add_size(len(text))

    def add_size(self, chars: int) -> None:
        """Count `chars` more of the answer; cut past a limit. Only the answer counts against
        what is left: its prompt was paid for when it was sent, whatever happens now."""
        self.chars += chars
        limits = self.limits
        answer = self.usage(with_input=False)
        if self.chars > self.max_chars:
            self._cut(
                f"the answer passed {self.max_chars} characters, more than any answer "
                "within max_tokens"
            )
        if limits.max_tokens is not None and answer.output_tokens > limits.max_tokens:
            self._cut(f"the answer passed the token budget ({limits.max_tokens} tokens left)")
        if limits.max_cost_usd is not None and answer.cost_usd > limits.max_cost_usd:
            self._cut(f"the answer passed the cost budget (${limits.max_cost_usd:.4f} left)")

    def usage(self, *, with_input: bool = True) -> Usage:
        output = math.ceil(self.chars / CHARS_PER_TOKEN)
        input_tokens = self.input_tokens if with_input else 0
        return priced_usage(self.settings, self.model, input_tokens, output)

    def cut_reply(self) -> ModelReply:
        text = "".join(self.preview)[:PREVIEW_CHARS]
        return ModelReply(
            text=f"{text}\n[... answer cut after {self.chars} characters]",
            stop_reason="cut",
            usage=self.usage(),
            model=self.model,
            cut=self.cut_reason,
        )

    def _cut(self, reason: str) -> None:
        self.cut_reason = reason
        raise AnswerCut(reason)


class Watchdog:
    """Closes the answer's connection at the deadline: a blocked read then fails, so neither
    a silent server nor one sending keep-alives forever holds a call past its deadline."""

    def __init__(self, deadline: float, close: Callable[[], object]) -> None:
        self.expired = False
        self._close = close
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.expired = True
        self._close()

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def seconds_until(deadline: float) -> float:
    """The SDK's own timeout for a request, so waiting for headers stops at the deadline too."""
    return max(0.01, deadline - time.monotonic())


def with_retries(
    provider: str,
    settings: ModelSettings,
    limits: CallLimits | None,
    attempt: Callable[[float, bool], ModelReply],
) -> ModelReply:
    """`attempt(deadline, sdk_retries)`, again on a ModelTransportError while retries and
    time are left.

    The SDKs retry statuses and connection errors themselves, with backoffs that know
    nothing of the caller's deadline: when that deadline comes before the call's own timeout,
    the SDK's retries are off (`sdk_retries` False) and those errors are retried here too."""
    tries = settings.max_retries + 1
    caller_deadline = math.inf if limits is None or limits.deadline is None else limits.deadline
    for number in range(1, tries + 1):
        own_deadline = time.monotonic() + settings.timeout_s
        near_end = caller_deadline < own_deadline
        try:
            return attempt(min(own_deadline, caller_deadline), not near_end)
        except ModelUnavailableError as exc:
            retried_here = near_end or isinstance(exc, ModelTransportError)
            pause = RETRY_BACKOFF_S[min(number - 1, len(RETRY_BACKOFF_S) - 1)]
            out_of_time = time.monotonic() + pause >= caller_deadline
            if not retried_here:
                raise
            if number == tries or out_of_time:
                raise type(exc)(f"{exc} ({_tries(number)})") from exc
            time.sleep(pause)
    raise AssertionError("unreachable")


def late_answer(provider: str, timeout_s: float) -> ModelTransportError:
    return ModelTransportError(
        f"{provider} gave no complete answer within the call's deadline "
        f"(timeout_s {timeout_s:g}, or the session's wall-time budget)"
    )


def _tries(number: int) -> str:
    return "1 attempt" if number == 1 else f"{number} attempts"


def require_content_type(provider: str, response: httpx2.Response, expected: str) -> None:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != expected:
        raise ModelTransportError(
            f"{provider} answered with {kind or 'no content type'}, not {expected}"
            f"{_first_bytes(response)}"
        )


def _first_bytes(response: httpx2.Response) -> str:
    try:
        start = next(response.iter_bytes(200), b"")
    except (httpx2.HTTPError, StopIteration):
        return ""
    line = start.decode("utf-8", "replace").strip().splitlines()
    return f": {line[0][:120]}" if line else ""


def read_json_body(provider: str, response: httpx2.Response, meter: Meter) -> Any:
    """The JSON body of a plain answer, read piece by piece against the meter's limits."""
    require_content_type(provider, response, "application/json")
    chunks: list[bytes] = []
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        meter.add_size(len(chunk) // 2)  # JSON escapes and envelope: about half is answer
    body = b"".join(chunks)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ModelTransportError(
            f"{provider} sent a JSON answer that does not parse ({len(body)} bytes): {exc}"
        ) from exc


def validated(provider: str, model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        keys = ", ".join(list(data)[:5]) if isinstance(data, dict) else type(data).__name__
        raise ModelTransportError(
            f"{provider} sent JSON that is not a reply ({exc.error_count()} problems; "
            f"it has {keys or 'nothing'})"
        ) from exc


def stream_events(events: Iterator[Any], provider: str) -> Iterator[Any]:
    """The SDK's parsed events; an event whose JSON is broken is a transport error."""
    try:
        yield from events
    except ValueError as exc:
        raise ModelTransportError(
            f"{provider} sent a stream event that does not parse: {exc}"
        ) from exc
