"""The JSON API over a store filled by the real demo campaign, in-process (ASGI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import TOKEN, Demo, HeldCampaign, check_operation, plan_mix_campaign

from corral.states import JobState
from corral.store import Store
from corral.web.app import create_app
from corral.web.settings import DashboardSettings

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def _demo_id(client: TestClient) -> int:
    return next(c["id"] for c in client.get("/api/campaigns").json() if c["name"] == "demo")


def test_campaigns_list_counts_outcomes_and_progress(client: TestClient) -> None:
    demo = next(c for c in client.get("/api/campaigns").json() if c["name"] == "demo")
    assert demo["jobs"] == 5
    assert demo["counts"] == {"PR open": 3, "no PR": 2}
    assert demo["settled"] == 5 and demo["progress"] == 1.0


def test_campaign_detail_has_categories_vetoes_and_spend(client: TestClient) -> None:
    detail = client.get(f"/api/campaigns/{_demo_id(client)}").json()
    categories = detail["categories"]
    assert categories["pr_open"] == 3
    assert categories["no_pr"] == 2
    assert categories["no_pr_reasons"] == {"gate_vetoed": 2}
    assert categories["merged"] == categories["pr_failed_ci"] == categories["closed"] == 0
    vetoes = detail["vetoes"]
    assert vetoes["gate_runs"] == 5  # one per repository: the change command runs once
    assert vetoes["guard_vetoes"] == 1  # reports-py lost a test; payments-js failed its build
    assert vetoes["judge_runs"] == 0 and vetoes["judge_veto_rate"] is None
    assert vetoes["vetoed_sessions"] == 1 and vetoes["recovered_sessions"] == 0
    assert detail["spend"]["total_tokens"] == 0  # a change command uses no model
    assert detail["spend"]["jobs_started"] == 5
    assert detail["verdict"] == "failed"


def test_jobs_filter_by_state(client: TestClient, demo: Demo) -> None:
    campaign = _demo_id(client)
    failed = client.get(f"/api/campaigns/{campaign}/jobs", params={"state": "failed"}).json()
    assert sorted(job["name"] for job in failed) == ["payments-js", "reports-py"]
    assert all(job["reason"].startswith("gate vetoed") for job in failed)
    opened = client.get(f"/api/campaigns/{campaign}/jobs", params={"state": "pr_open"}).json()
    assert len(opened) == 3 and all(job["pull_request"] for job in opened)
    bad = client.get(f"/api/campaigns/{campaign}/jobs", params={"state": "sleeping"})
    assert bad.status_code == 422


def test_burndown_ends_with_three_open_and_two_ended(client: TestClient) -> None:
    chart = client.get(f"/api/campaigns/{_demo_id(client)}/burndown").json()
    assert chart["total"] == 5
    first, last = chart["points"][0], chart["points"][-1]
    assert first["remaining"] >= 1 and first["open"] == 0
    assert (last["merged"], last["open"], last["ended"], last["remaining"]) == (0, 3, 2, 0)
    times = [point["at"] for point in chart["points"]]
    assert times == sorted(times)


def test_job_detail_has_its_timeline_and_the_guards_findings(
    client: TestClient, demo: Demo
) -> None:
    job = client.get(f"/api/jobs/{demo.job('reports-py').id}").json()
    kinds = [entry["kind"] for entry in job["timeline"]]
    for kind in ("transition", "verifier", "tool_call", "gate"):
        assert kind in kinds
    gate = next(entry for entry in job["timeline"] if entry["kind"] == "gate")
    assert gate["ok"] is False and gate["duration_s"] > 0
    [verdict] = job["gate_verdicts"]
    assert verdict["vetoed_by"] == "guard"
    rules = {finding["rule"] for finding in verdict["findings"]}
    assert rules == {"tests-deleted", "fewer-tests-run"}


def test_job_diff_from_the_commit_and_from_a_refused_working_tree(
    client: TestClient, demo: Demo
) -> None:
    committed = client.get(f"/api/jobs/{demo.job('inventory-go').id}/diff").json()
    assert committed["source"] == "commit"
    assert "+// SPDX-License-Identifier: Apache-2.0" in committed["patch"]
    assert all(f["added"] == 2 and f["removed"] == 0 for f in committed["files"])
    refused = client.get(f"/api/jobs/{demo.job('reports-py').id}/diff").json()
    assert refused["source"] == "working tree"
    deleted = next(f for f in refused["files"] if f["path"] == "tests/test_calc_old.py")
    assert deleted["status"] == "deleted" and deleted["removed"] == 5


def test_unknown_ids_are_404(client: TestClient) -> None:
    for url in ("/api/campaigns/9999", "/api/jobs/9999", "/api/jobs/9999/diff"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "no " in response.json()["detail"]


def test_writes_need_the_token(client: TestClient, demo: Demo) -> None:
    job = demo.job("billing-py").id
    assert client.post(f"/api/jobs/{job}/approve", json={}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (
        client.post(
            f"/api/jobs/{job}/feedback", json={"verdict": "good"}, headers=wrong
        ).status_code
        == 401
    )
    # a browser's session cookie is no API credential
    signed_in = TestClient(client.app)
    login = signed_in.post(
        "/login",
        data={"token": TOKEN, "name": "ana"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert login.status_code == 303 and "corral_session" in signed_in.cookies
    assert signed_in.post(f"/api/jobs/{job}/reject", json={"reason": "x"}).status_code == 401


def test_a_dashboard_without_a_token_is_read_only(demo_store: Store, demo: Demo) -> None:
    client = TestClient(
        create_app(demo_store, DashboardSettings(token=None, allowed_hosts=["testserver"]))
    )
    job = demo.job("billing-py").id
    assert client.get(f"/api/jobs/{job}").status_code == 200
    response = client.post(f"/api/jobs/{job}/feedback", json={"verdict": "good"}, headers=AUTH)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


def test_feedback_is_stored_with_the_job(client: TestClient, demo: Demo) -> None:
    job = demo.job("ledger-rs").id
    response = client.post(
        f"/api/jobs/{job}/feedback",
        json={"verdict": "bad", "comment": "the header belongs below the crate docs", "by": "ana"},
        headers=AUTH,
    )
    assert response.status_code == 201
    stored = client.get(f"/api/jobs/{job}").json()["feedback"]
    assert {(f["verdict"], f["comment"], f["by"]) for f in stored} >= {
        ("bad", "the header belongs below the crate docs", "ana")
    }
    invalid = client.post(f"/api/jobs/{job}/feedback", json={"verdict": "meh"}, headers=AUTH)
    assert invalid.status_code == 422


def test_approve_only_what_awaits_approval(client: TestClient, demo: Demo) -> None:
    response = client.post(
        f"/api/jobs/{demo.job('inventory-go').id}/approve", json={}, headers=AUTH
    )
    assert response.status_code == 409
    assert "not awaiting approval" in response.json()["detail"]


def test_rejecting_a_held_job_through_the_api_ends_it_without_a_pr(
    client: TestClient, demo_store: Store, hold_campaign: Callable[[str], HeldCampaign]
) -> None:
    held = hold_campaign("api-held")
    job = client.get(f"/api/jobs/{held.job_id}").json()
    assert job["awaiting_approval"] is True
    response = client.post(
        f"/api/jobs/{held.job_id}/reject",
        json={"reason": "not this week", "by": "ops"},
        headers=AUTH,
    )
    assert response.status_code == 200
    assert response.json()["decision"] == "rejected"
    held.wait_until_done()
    after = demo_store.job(held.job_id)
    assert after.state == JobState.FAILED
    assert after.reason == "rejected by ops: not this week"


def test_plan_of_a_campaign_gives_each_repository_its_verdict(
    client: TestClient, demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRAL_WORK_DIR", str(tmp_path / "work"))
    campaign_id = plan_mix_campaign(demo_store, tmp_path / "forge", "api-plan")

    refused = client.post(f"/api/campaigns/{campaign_id}/plan", json={})
    made = client.post(f"/api/campaigns/{campaign_id}/plan", json={"by": "ops"}, headers=AUTH)

    assert refused.status_code == 401
    assert made.status_code == 200, made.text
    plan = made.json()
    assert {r["name"]: r["verdict"] for r in plan["repos"]} == {
        "ready": "ready",
        "plain": "unsupported",
        "gone": "unreachable",
        "legacy": "not_targeted",
    }
    assert plan["ready"] is False and plan["estimate"]["jobs"] == 1
    assert client.post("/api/campaigns/999999/plan", json={}, headers=AUTH).status_code == 404
    assert not list((tmp_path / "work").glob("*/plan/plan-*"))  # scratch clones removed


def test_api_conforms_to_its_openapi_schema(app: FastAPI) -> None:
    """Every operation, with generated inputs (writes with the token): no server error, and
    each response matches the documented schema and status codes."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 15  # campaigns, jobs, steering, plan, evals
    # pause, resume and cancel would end the shared demo campaign: test_control.py checks
    # them the same way on a store of their own
    steering = ("/pause", "/resume", "/cancel")
    for operation in [op for op in operations if not op.path.endswith(steering)]:
        check_operation(operation)


def test_api_docs_work_offline(client: TestClient) -> None:
    """/docs is Swagger UI from the package's own assets: no CDN, which is unreachable here."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text and "cdn" not in page.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "corral dashboard"
