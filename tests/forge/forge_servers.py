"""Loopback servers the forge tests talk to over real HTTP.

- `GitHttpServer`: real git smart HTTP (`git http-backend` as CGI) over bare repositories,
  refusing any request without the expected `Authorization` header.
- `ApiServer` and `JsonHandler`: what the API servers here share (recorded exchanges, every
  method to one handler, JSON replies); `gitlab_api.py` builds on them.
- `Recorder`: a front that forwards API requests to a validating server (Prism), records each
  exchange with the validator's verdict, and can answer chosen requests itself (to play a
  rate limit) or swap a validated response's body (to reach a branch such as "no PR yet").
- Prism: GitHub's OpenAPI description, cut down to the operations corral calls (the cut keeps
  every schema they reference, so validation is unchanged), served by `prism mock --errors`.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PRISM_VERSION = "5.16.0"
OCTOKIT_OPENAPI_VERSION = "23.0.2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def basic_auth(username: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


class LoopbackServer:
    """A threading HTTP server on a free loopback port, stopped by `close()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# git over HTTP


class GitHttpServer(LoopbackServer):
    def __init__(self, root: Path, authorization: str) -> None:
        self.root = root
        self.authorization = authorization
        self.refused = 0
        self.authorized = 0
        super().__init__(_GitHandler)


class _GitHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        server: GitHttpServer = self.server.owner  # type: ignore[attr-defined]
        if self.headers.get("Authorization") != server.authorization:
            server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        server.authorized += 1
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "corral",  # lets http-backend accept pushes
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


# the recording front


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    violations: list[dict[str, Any]]
    at: float
    answered_by_front: bool = False

    @property
    def request_violations(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("location", [""])[0] == "request"]

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Scripted:
    """What the front does for the next request matching `method` and the `path` regex."""

    method: str
    path: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    forward: bool = False
    """Forward to the validator first (its verdict is recorded); then `edit` its body and add
    `headers`, instead of answering with `status` and `body`."""
    edit: Callable[[Any], Any] | None = None


class ApiServer(LoopbackServer):
    """A loopback API server that records every exchange (under `lock`)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()
        super().__init__(handler)

    def reset(self) -> list[Exchange]:
        """The exchanges so far; the server starts recording afresh."""
        with self.lock:
            seen, self.exchanges = self.exchanges, []
        return seen


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler that sends every method to `_handle` and answers in JSON."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        raise NotImplementedError

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_json(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Recorder(ApiServer):
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.script: list[Scripted] = []
        super().__init__(_FrontHandler)

    def play(self, *steps: Scripted) -> None:
        with self.lock:
            self.script.extend(steps)

    def take(self, method: str, path: str) -> Scripted | None:
        with self.lock:
            for step in self.script:
                if step.method == method and re.fullmatch(step.path, path):
                    self.script.remove(step)
                    return step
        return None

    def reset(self) -> list[Exchange]:
        """The exchanges so far; what was scripted and not played is dropped."""
        with self.lock:
            self.script = []
        return super().reset()


class _FrontHandler(JsonHandler):
    def _handle(self) -> None:
        front: Recorder = self.server.owner  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        raw = self.read_body()
        step = front.take(self.command, url.path)
        violations: list[dict[str, Any]]
        payload: Any
        if step is not None and not step.forward:
            status, headers, payload, violations = step.status, step.headers, step.body, []
        else:
            status, headers, payload, violations = self._forward(front, raw)
            if step is not None:
                headers = {**headers, **step.headers}
                if step.edit is not None:
                    payload = json.dumps(step.edit(json.loads(payload))).encode()
        with front.lock:
            front.exchanges.append(
                Exchange(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query),
                    body=json.loads(raw) if raw else None,
                    status=status,
                    violations=violations,
                    at=time.monotonic(),
                    answered_by_front=step is not None and not step.forward,
                )
            )
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_json(status, headers, data)

    def _forward(
        self, front: Recorder, raw: bytes
    ) -> tuple[int, dict[str, str], bytes, list[dict[str, Any]]]:
        upstream = http.client.HTTPConnection(front.upstream.netloc)
        skip = {"host", "content-length", "connection", "accept-encoding"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        # GitHub's media types (application/vnd.github.v3+json, ...) are JSON, which the
        # description lists as application/json: Prism would refuse them with 406.
        vendor_json = r"application/vnd\.github[\w.-]*\+json"
        headers["Accept"] = re.sub(vendor_json, "application/json", headers.get("Accept", "*/*"))
        upstream.request(self.command, self.path, body=raw or None, headers=headers)
        response = upstream.getresponse()
        # Answer as the API host, as GitHub Enterprise does: its own URLs in the data.
        payload = response.read().replace(b"https://api.github.com", front.url.encode())
        upstream.close()
        violations = json.loads(response.getheader("sl-violations") or "[]")
        # Prism's Link header is mock data (a "next" page at /resource): one page is all.
        keep = {"x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-limit"}
        kept = {k: v for k, v in response.getheaders() if k.lower() in keep}
        return response.status, kept, payload, violations


# Prism and GitHub's description


def install_npm_tools(root: Path, packages: dict[str, str]) -> None:
    """npm packages at exact versions into root (a cache folder), when not there yet."""
    missing = [
        f"{name}@{version}"
        for name, version in packages.items()
        if _installed_version(root, name) != version
    ]
    if missing:
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root), *missing],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip


def _installed_version(root: Path, name: str) -> str | None:
    manifest = root / "node_modules" / name / "package.json"
    if not manifest.is_file():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


def cut_description(spec: dict[str, Any], operations: dict[str, set[str]]) -> dict[str, Any]:
    """The description with only these paths and methods, and every component they reach."""
    cut = {k: v for k, v in spec.items() if k not in ("paths", "components", "x-webhooks")}
    cut["paths"] = {
        path: {k: v for k, v in spec["paths"][path].items() if k in methods or k == "parameters"}
        for path, methods in operations.items()
    }
    components: dict[str, dict[str, Any]] = {}
    pending: list[Any] = [cut["paths"]]
    seen: set[tuple[str, str]] = set()
    while pending:
        for kind, name in re.findall(
            r'"\$ref": "#/components/([^/"]+)/([^"]+)"', json.dumps(pending.pop())
        ):
            if (kind, name) not in seen:
                seen.add((kind, name))
                item = spec["components"][kind][name]
                components.setdefault(kind, {})[name] = item
                pending.append(item)
    cut["components"] = components
    return cut


@contextlib.contextmanager
def prism(tools: Path, description: Path) -> Iterator[str]:
    """`prism mock --errors` serving the description on a loopback port: its URL.

    --errors turns any request (or response) that breaks the description into an error
    reply; --ignoreExamples makes it answer with data built from the schemas, as some of the
    description's own examples break it.
    """
    port = free_port()
    log = description.with_suffix(".log")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(tools / "node_modules" / ".bin" / "prism"), "mock", "--errors",
             "--ignoreExamples", "-h", "127.0.0.1", "-p", str(port), str(description)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for_port(port, server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prism exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"prism did not start: {log.read_text()[-2000:]}")
