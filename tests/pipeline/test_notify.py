"""Webhooks, against a real HTTP server on loopback: the events a person must act on are
posted (Slack-compatible and generic JSON), a failing endpoint is retried, every delivery
is recorded, and an endpoint that never answers fails no job."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "campaign"))

from campaign_helpers import held_campaign

from corral.engine import admission
from corral.engine.campaign import run_campaign
from corral.pipeline import notify as notify_module
from corral.pipeline.context import Runtime, context_for
from corral.spec import CampaignSpec, WebhookSpec, load_spec
from corral.states import JobState, Reason
from corral.store import Store


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = 0
        """Answer this many requests with HTTP 500 first."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.fail_first > 0:
            self.server.fail_first -= 1
            self.send_response(500)
        else:
            self.server.posts.append((self.path, body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_approval_waiting_is_posted_retried_and_recorded(
    receiver: Receiver, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify_module, "BACKOFF_S", 0.01)
    monkeypatch.setenv("TEAM_CHAT_URL", receiver.url("/slack"))
    spec_path, _ = held_campaign(tmp_path)
    hooks = [
        {"url_env": "TEAM_CHAT_URL", "format": "slack", "events": ["approval_waiting"]},
        {"url": receiver.url("/json"), "events": ["approval_waiting"]},
        {"url": f"http://127.0.0.1:{_closed_port()}/gone", "events": ["approval_waiting"]},
    ]
    spec = load_spec(spec_path).model_copy(
        update={"notify": [WebhookSpec.model_validate(h) for h in hooks], "concurrency": 1}
    )
    receiver.fail_first = 1  # the first delivery is refused once, then retried
    store_url = str(tmp_path / "corral.db")
    summary = run_campaign(spec, Runtime(store_url, tmp_path / "work", cache_dir, sandbox="local"))

    assert {line.job.state for line in summary.lines} == {JobState.AWAITING_APPROVAL}
    slack = [body for path, body in receiver.posts if path == "/slack"]
    generic = [body for path, body in receiver.posts if path == "/json"]
    assert len(slack) == 2 and len(generic) == 2
    assert slack[0]["text"].startswith("corral · held: docs-a waits for approval: corral approve")
    assert generic[1]["event"] == "approval_waiting" and generic[1]["job"]["repo"] == "docs-b"
    store = Store.open(store_url)
    try:
        deliveries = store.notifications(summary.campaign.id)
    finally:
        store.close()
    assert len(deliveries) == 6
    assert [d.attempts for d in deliveries if d.ok] == [2, 1, 1, 1]  # the refused one retried
    failed = [d for d in deliveries if not d.ok]
    assert len(failed) == 2 and all(
        d.attempts == 3 and "ConnectError" in (d.detail or "") for d in failed
    )
    assert all("TEAM_CHAT_URL" not in d.target and "/slack" not in d.target for d in deliveries)


def test_a_paused_rollout_is_posted(receiver: Receiver, tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "corral.db"))
    repos = [f"/r/repo-{n}" for n in range(4)]
    spec = CampaignSpec.model_validate(
        {
            "name": "x",
            "command": "true",
            "targets": {"repos": repos},
            "rollout": {"canary": 2, "pause_if": {"failure_rate": 0.3, "after": 2}},
            "notify": [{"url": receiver.url("/json"), "events": ["paused"]}],
        }
    )
    campaign = store.save_campaign("x", spec.model_dump(mode="json"))
    jobs = [store.ensure_job(campaign.id, Path(r).name, r, None) for r in repos]
    for job in jobs[:2]:
        store.transition(job.id, JobState.FAILED, reason_code=Reason.GATE_VETOED)
    ctx = context_for(campaign, Runtime(str(tmp_path / "corral.db"), tmp_path / "w"), store)
    try:
        assert admission.admit(ctx, [j.id for j in jobs[2:]]).admitted == []
        (posted,) = receiver.posts
        assert posted[1]["event"] == "paused"
        assert "2 of 2 settled jobs failed" in posted[1]["text"]
    finally:
        store.close()
