"""Dashboard fixtures: one real demo campaign per test session (its tests share one xdist
worker through their group), the app over its store, and a held job to approve."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from web_helpers import TOKEN, Demo, HeldCampaign, notes_spec, run_notes_campaign

from corral.demo import run_demo
from corral.engine.local import LocalEngine
from corral.states import JobState
from corral.store import Store
from corral.store.records import Job
from corral.testing.repos import make_remote, notes_repo
from corral.web.app import create_app
from corral.web.settings import DashboardSettings


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The `corral demo` campaign, really run: 3 PRs open, 2 vetoed (no PR)."""
    directory = tmp_path_factory.mktemp("web-demo")
    store_url = str(directory / "corral.db")
    summary, _ = run_demo(directory / "demo", store_url=store_url)
    return Demo(store_url, directory, summary)


@pytest.fixture(scope="session")
def demo_store(demo: Demo) -> Iterator[Store]:
    store = Store.open(demo.store_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def app(demo_store: Store) -> FastAPI:
    return create_app(
        demo_store, DashboardSettings(token=TOKEN, refresh_s=0.5, allowed_hosts=["testserver"])
    )


@pytest.fixture
def hold_campaign(demo: Demo, demo_store: Store, tmp_path: Path) -> Callable[[str], HeldCampaign]:
    """hold_campaign(name): a real campaign (approval: each) over one repository, its
    engine polling the store for a decision in a thread; returns once the job is held."""

    def start(name: str) -> HeldCampaign:
        remote = make_remote(tmp_path / "forge", name, notes_repo())
        spec = notes_spec(name, [remote], approval="each")
        engine = LocalEngine(wait_for_approval=True, poll_s=0.2)
        thread = threading.Thread(
            target=run_notes_campaign,
            args=(spec, demo.store_url, tmp_path / "work", engine),
            daemon=True,
        )
        thread.start()
        job = _wait_for_held_job(demo_store, name)
        return HeldCampaign(job.id, thread)

    return start


def _wait_for_held_job(store: Store, campaign_name: str, timeout_s: float = 120) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        campaign = store.campaign(campaign_name)
        jobs = store.jobs(campaign.id) if campaign else []
        if jobs and jobs[0].state == JobState.AWAITING_APPROVAL:
            return jobs[0]
        if jobs and jobs[0].state in (JobState.FAILED, JobState.SKIPPED):
            pytest.fail(f"the held campaign's job ended: {jobs[0].reason}")
        time.sleep(0.2)
    pytest.fail(f"campaign {campaign_name} never held a job for approval")
