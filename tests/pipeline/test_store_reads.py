"""The campaign-wide reads (`jobs`, `pull_requests_by_job`, read as plain tuples for speed)
give exactly the records the one-row reads give (read through the ORM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from corral.forge.base import CIStatus, PullRequest
from corral.states import JobState
from corral.store import Store


def _pr(repo: str, branch: str, **fields: object) -> PullRequest:
    return PullRequest(
        forge="local",
        repo=repo,
        branch=branch,
        base_branch="main",
        number=0,
        url=f"https://forge.example/{repo}/pull/{{number}}",
        title="t",
        body="b",
        **fields,  # type: ignore[arg-type]
    )


def test_campaign_reads_equal_the_one_row_reads(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "corral.db"))
    try:
        campaign = store.save_campaign("c", {"name": "c"})
        a, b, c = (store.ensure_job(campaign.id, n, f"repo-{n}", None) for n in "abc")
        store.transition(a.id, JobState.PR_OPEN, reason="opened")
        first = store.save_pull_request(_pr("repo-a", "one"))
        store.link_pull_request(first, campaign.id, a.id)
        latest = store.save_pull_request(
            _pr(
                "repo-a",
                "two",
                draft=True,
                head_sha="abc",
                ci=CIStatus("failed", "2 tests", "abc", "https://ci/1", "runner lost"),
                labels=("fleet", "x"),
                reviewers=("bob", "org/team"),
            )
        )
        store.link_pull_request(latest, campaign.id, a.id)
        store.link_pull_request(store.save_pull_request(_pr("repo-b", "one")), campaign.id, b.id)
        store.save_pull_request(_pr("repo-c", "unlinked"))  # no job: never listed

        prs = store.pull_requests_by_job(campaign.id)

        assert set(prs) == {a.id, b.id}
        assert prs[a.id] == store.pull_request_for_job(a.id)
        assert prs[a.id].labels == ("fleet", "x") and prs[a.id].ci.summary == "2 tests"
        assert prs[a.id].ci.infrastructure is None  # as the one-row read: not stored
        assert prs[b.id] == store.pull_request_for_job(b.id)
        assert set(store.pull_requests_by_job(campaign.id, [b.id, c.id])) == {b.id}
        jobs = store.jobs(campaign.id)
        assert jobs == [store.job(job.id) for job in (a, b, c)]
        assert jobs[0].state == JobState.PR_OPEN and jobs[0].updated_at.tzinfo is not None
    finally:
        store.close()


def test_a_read_takes_no_write_lock_and_waits_for_no_writer(tmp_path: Path) -> None:
    """Workers (threads, or `corral worker` processes) read jobs while another writes: on
    SQLite a read is a deferred transaction, which neither waits for the writer's lock nor
    holds one, and sees the last commit; a write still takes the lock first."""
    store = Store.open(str(tmp_path / "corral.db"))
    try:
        campaign = store.save_campaign("c", {"name": "c"})
        job = store.ensure_job(campaign.id, "a", "repo-a", None)
        store.engine.dispose()  # new connections give up at once on a held lock
        event.listen(store.engine, "connect", _no_busy_wait)
        other = Store.open(str(tmp_path / "corral.db"))
        writer = other.engine.connect()
        writer.begin()  # another worker's write transaction, holding the lock
        try:
            assert store.job(job.id).state == JobState.QUEUED
            assert store.campaign("c") == campaign
            assert [j.id for j in store.jobs(campaign.id)] == [job.id]
            with pytest.raises(OperationalError, match="locked"):
                store.transition(job.id, JobState.PREPARED)
        finally:
            writer.rollback()
            writer.close()
            other.close()
        assert store.transition(job.id, JobState.PREPARED).state == JobState.PREPARED
    finally:
        store.close()


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")
