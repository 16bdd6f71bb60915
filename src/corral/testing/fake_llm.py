"""A fake language model at the wire: a real HTTP server on loopback playing a script.

It speaks the Anthropic Messages API (`POST /v1/messages`, plus `count_tokens`) and OpenAI
Chat Completions (`POST /v1/chat/completions`), each plain or streamed as server-sent events,
with tool calls, usage figures and scripted errors (429 with Retry-After, 5xx, slow answers),
and the answers of a misbehaving endpoint (`BrokenAnswer`: truncated JSON, an HTML page,
foreign JSON, endless keep-alives, a stream cut off; huge answers are a `Turn` with a huge
text and `chunk_chars`).
Point a real SDK or agent at `anthropic_base_url` / `openai_base_url`; nothing on the client
side needs to know it is a fake.

    with FakeModelServer([tool("read_file", path="app.py"), Turn(text="done")]) as server:
        ...  # ModelSettings(base_url=server.anthropic_base_url, ...)
        assert len(server.model_requests) == 2

A script is a list of turns (each a `Turn`, a `Failure` or a `BrokenAnswer`) played in
order, or a callable that sees each `FakeRequest` and returns the turn. `replay_script`
turns a recorded JSONL transcript back into a script, so a past session re-runs exactly.
Lenient in what it accepts (unknown fields, beta headers, HEAD and health probes), strict
in what it sends.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from corral.llm.settings import ModelSettings

Protocol = Literal["anthropic", "openai"]

WIRE_MODES: tuple[tuple[Protocol, bool], ...] = (
    ("anthropic", False),
    ("anthropic", True),
    ("openai", False),
    ("openai", True),
)
"""Every (protocol, streaming) pair the server speaks: for parametrised tests."""

DEFAULT_MODELS: dict[Protocol, str] = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1"}

_CHUNK = 16
"""Characters per streamed delta: small, so clients must really accumulate."""


@dataclass(frozen=True)
class Call:
    """One tool call the fake model makes."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    """A JSON object, or raw text (possibly broken JSON, to see how a client copes)."""
    id: str | None = None

    @property
    def raw_arguments(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


class ScriptItem:
    """What a script plays for one request: a `Turn` or a `Failure`."""


@dataclass(frozen=True)
class Turn(ScriptItem):
    """One model reply: text and/or tool calls."""

    text: str = ""
    calls: tuple[Call, ...] = ()
    input_tokens: int | None = None
    """Reported usage; by default estimated from the request's size (4 characters a token)."""
    output_tokens: int | None = None
    delay_s: float = 0.0
    """Wait this long before answering (to exercise client timeouts)."""
    chunk_chars: int | None = None
    """Characters per streamed delta (default 16): larger for huge answers."""


@dataclass(frozen=True)
class Failure(ScriptItem):
    """An HTTP error instead of a reply."""

    status: int
    message: str = "scripted failure"
    retry_after_s: float | None = None
    """Sent as Retry-After (whole seconds) and retry-after-ms."""


BrokenKind = Literal["truncated_json", "html", "foreign_json", "keepalive_forever", "cut_stream"]


@dataclass(frozen=True)
class BrokenAnswer(ScriptItem):
    """A misbehaving endpoint's answer, with status 200: what a proxy or a sick server sends.

    - `truncated_json`: a reply's JSON cut in half (streams: an event cut mid-JSON, then EOF).
    - `html`: an HTML error page, as a gateway sends it.
    - `foreign_json`: well-formed JSON that is not a reply of the protocol.
    - `keepalive_forever`: headers, then keep-alives (SSE pings or comments, or whitespace
      before a JSON body) until the server stops: a client with only a read timeout hangs.
    - `cut_stream`: the first half of `turn`'s answer, then the connection closes without its
      end (no `message_stop`, no finish reason, no `[DONE]`; plain answers fall short of
      their Content-Length).

    For a huge answer, script a `Turn` with a huge text and `chunk_chars` set.
    """

    kind: BrokenKind
    turn: Turn = field(default_factory=lambda: Turn(text="This answer never arrives whole."))
    keepalive_every_s: float = 0.05


def tool(name: str, **arguments: Any) -> Turn:
    """A turn that makes one tool call."""
    return Turn(calls=(Call(name, arguments),))


@dataclass
class FakeRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    """time.monotonic() when it arrived."""

    @property
    def protocol(self) -> Protocol | None:
        if self.path.endswith("/chat/completions"):
            return "openai"
        if self.path.endswith("/messages"):
            return "anthropic"
        return None

    def last_message_text(self) -> str:
        """The text of the last message (user text, tool results), in either protocol."""
        messages = self.body.get("messages") or [{}]
        return "\n".join(_texts(messages[-1].get("content")))

    def latest_text(self) -> str:
        """What the client sent since the model's last reply (user text, tool results)."""
        messages = self.body.get("messages") or []
        replied = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
        latest = messages[replied[-1] + 1 :] if replied else messages
        return "\n".join(
            text for m in latest if m.get("role") != "system" for text in _texts(m.get("content"))
        )


Script = Sequence[ScriptItem] | Callable[[FakeRequest], ScriptItem]


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up first (a test's client timing out on a slow answer)."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakeModelServer:
    """Context manager: a threaded HTTP server on 127.0.0.1 (a free port) playing `script`."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._next = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[FakeRequest] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def anthropic_base_url(self) -> str:
        """For the Anthropic SDK and ANTHROPIC_BASE_URL (no /v1)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def base_url_for(self, protocol: Protocol) -> str:
        return self.anthropic_base_url if protocol == "anthropic" else self.openai_base_url

    def model_settings(
        self, protocol: Protocol, *, stream: bool = False, **overrides: Any
    ) -> ModelSettings:
        """Settings that point corral's model layer at this server. The timeout is a minute, not
        the production ten: a request lost on a loaded machine fails its test instead of hanging
        it until the suite's own timeout."""
        from corral.llm.settings import ModelSettings

        fields: dict[str, Any] = {
            "model": DEFAULT_MODELS[protocol],
            "stream": stream,
            "timeout_s": 60.0,
        }
        fields.update(overrides)
        return ModelSettings(provider=protocol, base_url=self.base_url_for(protocol), **fields)

    @property
    def model_requests(self) -> list[FakeRequest]:
        """The requests that asked for a reply (each consumed a turn of the script)."""
        return [r for r in self.requests if r.protocol is not None and r.method == "POST"]

    @property
    def turns_left(self) -> int | None:
        """Unplayed turns of a list script (None for a callable)."""
        return None if callable(self._script) else len(self._script) - self._next

    def __enter__(self) -> FakeModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _record(self, request: FakeRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_item(self, request: FakeRequest) -> Turn | Failure | BrokenAnswer:
        with self._lock:
            index = self._next
            self._next += 1
        if callable(self._script):
            item = self._script(request)
        elif index < len(self._script):
            item = self._script[index]
        else:
            item = Failure(400, f"fake model: the script has no turn left ({index} played)")
        if not isinstance(item, Turn | Failure | BrokenAnswer):
            raise TypeError(f"a script must give a Turn, Failure or BrokenAnswer, not {item!r}")
        return item

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server_version = "corral-fake-llm/1"

    @property
    def fake(self) -> FakeModelServer:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._record({})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        request = self._record({})
        if request.path.endswith("/models"):
            model = {"id": "fake-model", "object": "model", "type": "model", "created": 0}
            self._send_json(200, {"object": "list", "data": [model], "has_more": False})
        else:
            self._send_json(200, {"ok": True})

    def do_POST(self) -> None:
        try:
            body = json.loads(self._read_body() or b"{}")
        except ValueError as exc:
            self._send_json(400, _openai_error(400, f"request body is not JSON: {exc}"))
            return
        request = self._record(body if isinstance(body, dict) else {})
        if request.path.endswith("/messages/count_tokens"):
            self._send_json(200, {"input_tokens": _estimate_tokens(request.body)})
        elif request.protocol is None:
            self._send_json(404, _openai_error(404, f"no such endpoint: {request.path}"))
        else:
            self._answer(request, request.protocol)

    def _record(self, body: dict[str, Any]) -> FakeRequest:
        request = FakeRequest(
            method=self.command,
            path=urlsplit(self.path).path.rstrip("/"),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.fake._record(request)
        return request

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, request: FakeRequest, protocol: Protocol) -> None:
        item = self.fake._next_item(request)
        if isinstance(item, Failure):
            self._send_failure(item, protocol)
            return
        if isinstance(item, BrokenAnswer):
            self._send_broken(item, request, protocol)
            return
        self.fake._pause(item.delay_s)
        reply = _Reply.of(item, request)
        if protocol == "anthropic":
            if request.body.get("stream"):
                self._send_events(_anthropic_events(reply), named=True)
            elif (error := reply.non_object_arguments()) is not None:
                self._send_failure(Failure(400, error), protocol)
            else:
                self._send_json(200, _anthropic_message(reply))
        elif request.body.get("stream"):
            self._send_events(_stream_of(reply, protocol, request), named=False)
        else:
            self._send_json(200, _openai_completion(reply))

    def _send_failure(self, failure: Failure, protocol: Protocol) -> None:
        headers = {}
        if failure.retry_after_s is not None:
            headers["Retry-After"] = str(math.ceil(failure.retry_after_s))
            headers["retry-after-ms"] = str(round(failure.retry_after_s * 1000))
        if protocol == "anthropic":
            body = _anthropic_error(failure.status, failure.message)
        else:
            body = _openai_error(failure.status, failure.message)
        self._send_json(failure.status, body, headers)

    def _send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_fake_{uuid.uuid4().hex[:12]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_events(
        self, events: Iterator[tuple[str, object]], *, named: bool, limit: int | None = None
    ) -> None:
        """Server-sent events until the connection closes (HTTP/1.0: no length needed).

        With `limit`, stop after that many events, the last one cut in half: a broken stream.
        """
        self._start_events()
        for sent, (name, data) in enumerate(events):
            payload = data if isinstance(data, str) else json.dumps(data)
            prefix = f"event: {name}\n" if named else ""
            event = f"{prefix}data: {payload}\n\n".encode()
            if limit is not None and sent == limit:
                self.wfile.write(event[: len(event) // 2])
                self.wfile.flush()
                return
            self.wfile.write(event)
            self.wfile.flush()

    def _start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    # Broken answers (BrokenAnswer): what a misbehaving endpoint sends, all with status 200.

    def _send_broken(self, item: BrokenAnswer, request: FakeRequest, protocol: Protocol) -> None:
        reply = _Reply.of(item.turn, request)
        streamed = bool(request.body.get("stream"))
        if item.kind == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            self._send_bytes(page, "text/html")
        elif item.kind == "foreign_json":
            self._send_bytes(json.dumps({"status": "ok", "data": [1, 2, 3]}).encode())
        elif item.kind == "keepalive_forever":
            self._keep_alive_forever(reply, protocol, streamed, item.keepalive_every_s)
        elif streamed:
            events = list(_stream_of(reply, protocol, request))
            self._send_events(iter(events), named=protocol == "anthropic", limit=len(events) // 2)
        else:
            body = json.dumps(_reply_json(reply, protocol)).encode()
            if item.kind == "truncated_json":
                self._send_bytes(body[: len(body) // 2])
            else:  # cut_stream: promise the whole body, send half, hang up
                self._send_bytes(body[: len(body) // 2], length=len(body))
                self.close_connection = True

    def _send_bytes(
        self, data: bytes, content_type: str = "application/json", length: int | None = None
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _keep_alive_forever(
        self, reply: _Reply, protocol: Protocol, streamed: bool, every_s: float
    ) -> None:
        if not streamed:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            beat = b" "  # whitespace before a JSON body is valid JSON, and keeps reads alive
        elif protocol == "anthropic":
            self._start_events()
            start = next(_anthropic_events(reply))
            self.wfile.write(f"event: {start[0]}\ndata: {json.dumps(start[1])}\n\n".encode())
            beat = b'event: ping\ndata: {"type": "ping"}\n\n'
        else:
            self._start_events()
            beat = b": keep-alive\n\n"
        while not self.fake._stopping.is_set():
            self.wfile.write(beat)
            self.wfile.flush()
            self.fake._pause(every_s)


def _stream_of(
    reply: _Reply, protocol: Protocol, request: FakeRequest
) -> Iterator[tuple[str, object]]:
    if protocol == "anthropic":
        return _anthropic_events(reply)
    include_usage = bool((request.body.get("stream_options") or {}).get("include_usage"))
    return _openai_chunks(reply, include_usage)


def _reply_json(reply: _Reply, protocol: Protocol) -> dict[str, Any]:
    return _anthropic_message(reply) if protocol == "anthropic" else _openai_completion(reply)


@dataclass(frozen=True)
class _Reply:
    """A turn made concrete for one request: ids, model name and token counts fixed."""

    model: str
    text: str
    calls: tuple[tuple[str, Call], ...]
    input_tokens: int
    output_tokens: int
    chunk_chars: int = _CHUNK

    @classmethod
    def of(cls, turn: Turn, request: FakeRequest) -> _Reply:
        is_openai = request.protocol == "openai"
        calls = tuple(
            (call.id or f"{'call' if is_openai else 'toolu'}_{uuid.uuid4().hex[:20]}", call)
            for call in turn.calls
        )
        produced = turn.text + "".join(call.name + call.raw_arguments for call in turn.calls)
        return cls(
            model=str(request.body.get("model") or "fake-model"),
            text=turn.text,
            calls=calls,
            input_tokens=(
                _estimate_tokens(request.body) if turn.input_tokens is None else turn.input_tokens
            ),
            output_tokens=(
                len(produced) // 4 + 1 if turn.output_tokens is None else turn.output_tokens
            ),
            chunk_chars=turn.chunk_chars or _CHUNK,
        )

    def non_object_arguments(self) -> str | None:
        for _, call in self.calls:
            try:
                if isinstance(json.loads(call.raw_arguments), dict):
                    continue
            except ValueError:
                pass
            return (
                f"fake model: the arguments of {call.name!r} are not a JSON object, which a "
                "non-streaming Messages API reply cannot carry; stream, or use OpenAI"
            )
        return None


def _anthropic_message(reply: _Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [
        {
            "type": "tool_use",
            "id": call_id,
            "name": call.name,
            "input": json.loads(call.raw_arguments),
        }
        for call_id, call in reply.calls
    ]
    return {
        **_anthropic_envelope(reply),
        "content": content,
        "stop_reason": "tool_use" if reply.calls else "end_turn",
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def _anthropic_envelope(reply: _Reply) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "stop_sequence": None,
    }


def _anthropic_events(reply: _Reply) -> Iterator[tuple[str, object]]:
    start = {
        **_anthropic_envelope(reply),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
    }
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    blocks: list[tuple[dict[str, Any], str, str]] = []
    if reply.text:
        blocks.append(({"type": "text", "text": ""}, "text_delta", reply.text))
    for call_id, call in reply.calls:
        block = {"type": "tool_use", "id": call_id, "name": call.name, "input": {}}
        blocks.append((block, "input_json_delta", call.raw_arguments))
    for index, (block, delta_type, content) in enumerate(blocks):
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": block,
            },
        )
        key = "text" if delta_type == "text_delta" else "partial_json"
        for piece in _pieces(content, reply.chunk_chars):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": delta_type, key: piece},
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": "tool_use" if reply.calls else "end_turn",
                "stop_sequence": None,
            },
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _openai_completion(reply: _Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw_arguments},
            }
            for call_id, call in reply.calls
        ]
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": "tool_calls" if reply.calls else "stop",
        "logprobs": None,
    }
    return {
        **_openai_envelope(reply, "chat.completion"),
        "choices": [choice],
        "usage": _openai_usage(reply),
    }


def _openai_envelope(reply: _Reply, kind: str, completion_id: str = "") -> dict[str, Any]:
    return {
        "id": completion_id or f"chatcmpl-fake{uuid.uuid4().hex[:20]}",
        "object": kind,
        "created": int(time.time()),
        "model": reply.model,
        "system_fingerprint": None,
    }


def _openai_usage(reply: _Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _openai_chunks(reply: _Reply, include_usage: bool) -> Iterator[tuple[str, object]]:
    completion_id = f"chatcmpl-fake{uuid.uuid4().hex[:20]}"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        extra = {"usage": None} if include_usage else {}
        envelope = _openai_envelope(reply, "chat.completion.chunk", completion_id)
        return {**envelope, "choices": [choice], **extra}

    yield "", chunk({"role": "assistant", "content": ""})
    for piece in _pieces(reply.text, reply.chunk_chars):
        yield "", chunk({"content": piece})
    for index, (call_id, call) in enumerate(reply.calls):
        function = {"name": call.name, "arguments": ""}
        yield (
            "",
            chunk(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": function}
                    ]
                }
            ),
        )
        for piece in _pieces(call.raw_arguments):
            yield "", chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield "", chunk({}, "tool_calls" if reply.calls else "stop")
    if include_usage:
        envelope = _openai_envelope(reply, "chat.completion.chunk", completion_id)
        yield "", {**envelope, "choices": [], "usage": _openai_usage(reply)}
    yield "", "[DONE]"


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _pieces(text: str, size: int = _CHUNK) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _estimate_tokens(body: dict[str, Any]) -> int:
    return len(json.dumps(body)) // 4 + 1


def _texts(content: object) -> Iterator[str]:
    """Every text in a message's content, whatever its protocol's shape."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            yield from _texts(block)
    elif isinstance(content, dict):
        for key in ("text", "content"):
            yield from _texts(content.get(key))


def replay_script(transcript: Path | Sequence[dict[str, Any]]) -> list[Turn]:
    """The model replies of a recorded session (a JSONL transcript), as a script to replay.

    Token counts are kept, so budgets end a replay where they ended the original.
    """
    from corral.agents.transcript import read_transcript

    records = read_transcript(transcript) if isinstance(transcript, Path) else transcript
    turns = []
    for record in records:
        reply = record["data"].get("reply") if record["kind"] == "model_call" else None
        if reply is None:
            continue
        usage = record["data"].get("usage") or {}
        calls = tuple(
            Call(call["name"], call.get("raw_arguments") or call["arguments"] or {}, call["id"])
            for call in reply["tool_calls"]
        )
        turns.append(
            Turn(
                text=reply["text"],
                calls=calls,
                input_tokens=usage.get("input_tokens"),
                output_tokens=usage.get("output_tokens"),
            )
        )
    return turns
