"""The dashboard's campaign controls through the API (bearer token): pause, resume, cancel
call the same library as `corral pause|resume|cancel`."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from web_helpers import TOKEN, check_operation

from corral.spec import CampaignSpec
from corral.states import JobState, Reason
from corral.store import Store
from corral.web.app import create_app
from corral.web.settings import DashboardSettings

AUTH = {"Authorization": "Bearer s3cret"}


def test_pause_resume_and_cancel_from_the_dashboard(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "corral.db"))
    spec = CampaignSpec.model_validate(
        {"name": "fleet", "command": "true", "targets": {"repos": ["/r/a", "/r/b"]}}
    )
    campaign = store.save_campaign("fleet", spec.model_dump(mode="json"))
    for repo in ("/r/a", "/r/b"):
        store.ensure_job(campaign.id, repo[-1], repo, None)
    client = TestClient(
        create_app(store, DashboardSettings(token="s3cret", allowed_hosts=["testserver"]))
    )
    url = f"/api/campaigns/{campaign.id}"
    try:
        refused = client.post(f"{url}/pause", json={})
        assert refused.status_code == 401

        paused = client.post(
            f"{url}/pause", json={"by": "alice", "reason": "CI outage"}, headers=AUTH
        )
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] == "paused by alice: CI outage"
        assert client.get(url).json()["paused"] == "paused by alice: CI outage"
        page = client.get(f"/campaigns/{campaign.id}")
        assert "paused by alice: CI outage" in page.text

        resumed = client.post(f"{url}/resume", json={}, headers=AUTH)
        assert resumed.json()["paused"] is None
        assert "corral resume fleet" in resumed.json()["note"]  # a local campaign: run it

        cancelled = client.post(f"{url}/cancel", json={"by": "bob"}, headers=AUTH)
        assert cancelled.json()["note"] == "2 job(s) ended, 0 pull request(s) closed"
        jobs = store.jobs(campaign.id)
        assert {job.state for job in jobs} == {JobState.SKIPPED}
        assert {job.reason_code for job in jobs} == {Reason.CANCELLED}
        again = client.post(f"{url}/resume", json={}, headers=AUTH)
        assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    finally:
        store.close()


def test_the_controls_conform_to_the_openapi_schema(tmp_path: Path) -> None:
    """pause, resume and cancel with generated inputs (and the token): no server error, and
    each response matches the documented schema and status codes."""
    store = Store.open(str(tmp_path / "corral.db"))
    spec = CampaignSpec.model_validate(
        {"name": "fleet", "command": "true", "targets": {"repos": ["/r/a"]}}
    )
    campaign = store.save_campaign("fleet", spec.model_dump(mode="json"))
    store.ensure_job(campaign.id, "a", "/r/a", None)
    try:
        app = create_app(store, DashboardSettings(token=TOKEN, allowed_hosts=["testserver"]))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        steering = ("/pause", "/resume", "/cancel")
        operations = [r.ok() for r in schema.get_all_operations()]
        chosen = [op for op in operations if op.path.endswith(steering)]
        assert len(chosen) == 3
        for operation in chosen:
            check_operation(operation)
    finally:
        store.close()
