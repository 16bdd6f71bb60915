"""The dashboard against a hostile repository and a hostile web page: opening a job runs
nothing the repository controls, another site's name (DNS rebinding) gets no answer, pages
carry a Content-Security-Policy, and a session cookie is signed and expires."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_host_git import (
    FAKE_SECRETS,
    assert_no_secret,
    hostile_campaign,
    markers_left,
    plain_git,
)

from corral.store import Store
from corral.web.app import create_app
from corral.web.security import SESSION_COOKIE, Signer, host_name
from corral.web.settings import DashboardSettings

TOKEN = FAKE_SECRETS["CORRAL_DASHBOARD_TOKEN"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(str(tmp_path / "empty.db"))
    yield opened
    opened.close()


def client(store: Store, host: str = "127.0.0.1:8080", **settings: object) -> TestClient:
    app = create_app(store, DashboardSettings(token=TOKEN, **settings))  # type: ignore[arg-type]
    return TestClient(app, base_url=f"http://{host}")


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "[::1]:8080", "LOCALHOST:80"])
def test_localhost_names_are_answered(store: Store, host: str) -> None:
    assert client(store, host).get("/api/campaigns").status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io"])
def test_any_other_host_name_is_refused(store: Store, host: str) -> None:
    """A rebinding page's requests carry its own name as Host; they get nothing."""
    for path in ("/", "/api/campaigns", "/jobs/1", "/api/jobs/1/diff"):
        response = client(store, host).get(path)
        assert response.status_code == 421, path
        assert "does not answer to the host name" in response.text


def test_the_operator_adds_host_names(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    added = client(store, "corral.internal:8080", allowed_hosts=["corral.internal"])
    assert added.get("/api/campaigns").status_code == 200
    monkeypatch.setenv("CORRAL_DASHBOARD_HOSTS", "a.internal, b.internal")
    settings = DashboardSettings.from_env()
    assert {"a.internal", "b.internal", "localhost"} <= settings.hosts()
    assert host_name("[::1]:8080") == "::1"


def test_pages_carry_a_content_security_policy(store: Store) -> None:
    for path in ("/", "/api/campaigns", "/login"):
        headers = client(store).get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("style-src")[0]
        assert headers["x-content-type-options"] == "nosniff"


def test_api_docs_run_only_their_own_inline_script(store: Store) -> None:
    response = client(store).get("/docs")
    policy = response.headers["content-security-policy"]
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert response.text.count("<script") == response.text.count(f'nonce="{nonce}"') + 1
    assert '<script src="/static/swagger/swagger-ui-bundle.js"' in response.text


def test_session_cookie_is_signed_and_expires() -> None:
    signer = Signer(TOKEN, max_age_s=1)
    cookie = signer.new_session("alice")
    assert signer.session(cookie) is not None
    assert Signer("another-token").session(cookie) is None
    assert signer.session(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    time.sleep(2.1)
    assert signer.session(cookie) is None


def test_sign_in_sets_an_expiring_cookie(store: Store) -> None:
    web = client(store)
    response = web.post(
        "/login",
        data={"token": TOKEN, "name": "alice"},
        headers={"Origin": "http://127.0.0.1:8080"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "Max-Age=43200" in cookie
    assert "HttpOnly" in cookie


def test_opening_a_hostile_job_runs_nothing_of_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    done, _ = hostile_campaign(tmp_path, "direct")
    job = json.loads(done.stdout)["jobs"][0]
    assert job["state"] == "failed"
    store = Store.open(str(tmp_path / "corral.db"))
    try:
        web = client(store)
        page = web.get(f"/jobs/{job['id']}")
        diff = web.get(f"/api/jobs/{job['id']}/diff").json()
        record = store.job(job["id"])
    finally:
        store.close()
    assert page.status_code == 200
    assert diff["available"] is False
    assert "could run a program" in diff["note"]
    assert markers_left(tmp_path) == []
    assert_no_secret(page.text, json.dumps(diff))

    # What the page ran before: git diff with textconv on, in the hostile checkout.
    plain_git(Path(record.checkout or ""), "diff", record.base_sha or "HEAD")
    assert "textconv" in markers_left(tmp_path)
