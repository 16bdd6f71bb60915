"""The in-process engine: a job held for a person gives its worker slot up, and a
decision made through the library (as the CLI and dashboard make it) releases it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from campaign_helpers import assert_a_approved_b_rejected, held_campaign, jobs_of

from corral.engine.campaign import run_campaign, tell_engine
from corral.engine.local import LocalEngine
from corral.pipeline import jobs
from corral.pipeline.context import Runtime
from corral.pipeline.summary import CampaignSummary
from corral.spec import load_spec
from corral.states import JobState
from corral.store import Store


def _wait_until(condition: object, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_held_job_never_occupies_a_worker_slot(tmp_path: Path, cache_dir: Path) -> None:
    spec_path, remotes = held_campaign(tmp_path)
    spec = load_spec(spec_path).model_copy(update={"concurrency": 1})
    store_url = str(tmp_path / "corral.db")
    runtime = Runtime(store_url, tmp_path / "work", cache_dir, sandbox="local")
    summaries: list[CampaignSummary] = []
    engine = LocalEngine(wait_for_approval=True, poll_s=0.1)
    run = threading.Thread(
        target=lambda: summaries.append(run_campaign(spec, runtime, engine=engine)), daemon=True
    )
    run.start()

    # one worker: the second job gets it while the first waits for a person
    _wait_until(
        lambda: {j.state for j in jobs_of(store_url, "held")} == {JobState.AWAITING_APPROVAL}
    )
    store = Store.open(store_url)
    try:
        held = {job.name: job for job in jobs_of(store_url, "held")}
        approved = jobs.approve(store, held["docs-a"].id, hook=tell_engine, by="alice")
        assert approved.engine_note.startswith("a waiting `corral run --wait`")
        jobs.reject(store, held["docs-b"].id, "not this quarter", hook=tell_engine, by="bob")
    finally:
        store.close()
    run.join(timeout=120)
    assert not run.is_alive() and summaries
    assert_a_approved_b_rejected({j.name: j for j in jobs_of(store_url, "held")}, remotes)
