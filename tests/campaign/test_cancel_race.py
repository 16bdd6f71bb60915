"""Cancel while a job's step is running: the step's forge write is not made, or undone.

The cancel lands between the push and the PR: `open_pr` finds the job ended before it asks the
forge (no PR), or, when the cancel lands while the forge is opening the PR, closes the PR it
opened, since cancel found none to close."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from campaign_helpers import write_spec

from corral.engine import control
from corral.engine.campaign import run_campaign
from corral.forge.base import PullRequest, PullRequestRequest
from corral.forge.local import LocalForge
from corral.pipeline.context import Runtime, context_for
from corral.spec import load_spec
from corral.states import JobState, Reason
from corral.store import Store
from corral.store.records import Job
from corral.testing.fake_llm import FakeModelServer, FakeRequest, Turn, tool
from corral.testing.repos import make_remote, notes_repo

CHANGE = "printf 'Release notes, reviewed.\\n' > NOTES.md"


def _cancel_now(runtime: Runtime) -> None:
    store = Store.open(runtime.store_url)
    try:
        campaign = store.campaign("race")
        assert campaign is not None
        control.cancel(context_for(campaign, runtime, store), by="alice")
    finally:
        store.close()


def _setup(tmp_path: Path) -> tuple[Path, Runtime]:
    remote = make_remote(tmp_path / "forge", "svc-a", notes_repo())
    spec = write_spec(
        tmp_path / "spec.yaml", name="race", command=CHANGE, targets={"repos": [str(remote)]}
    )
    runtime = Runtime(
        str(tmp_path / "corral.db"), tmp_path / "work", tmp_path / "cache", sandbox="local"
    )
    return spec, runtime


def _only_job_and_prs(store: Store) -> tuple[Job, list[PullRequest]]:
    campaign = store.campaign("race")
    assert campaign is not None
    [job] = store.jobs(campaign.id)
    return job, store.pull_requests(campaign.id)


def test_a_cancel_between_push_and_pr_opens_no_pr(tmp_path: Path) -> None:
    spec, runtime = _setup(tmp_path)

    def cancel_once_pushed(job: Job) -> None:
        if job.state == JobState.PUSHED:
            _cancel_now(runtime)  # the engine's next step, open_pr, meets a job cancel ended

    run_campaign(load_spec(spec), runtime, on_change=cancel_once_pushed)
    store = Store.open(runtime.store_url)
    try:
        job, prs = _only_job_and_prs(store)
        assert job.state == JobState.SKIPPED and job.reason_code == Reason.CANCELLED
        assert prs == []
    finally:
        store.close()


def test_a_pr_opened_while_the_campaign_is_cancelled_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, runtime = _setup(tmp_path)
    opening = LocalForge.find_or_open_pr

    def cancel_mid_open(self: LocalForge, request: PullRequestRequest) -> PullRequest:
        _cancel_now(runtime)  # cancel finds no PR yet: the job ends, and the PR opens after
        return opening(self, request)

    monkeypatch.setattr(LocalForge, "find_or_open_pr", cancel_mid_open)
    run_campaign(load_spec(spec), runtime)
    store = Store.open(runtime.store_url)
    try:
        job, prs = _only_job_and_prs(store)
        assert job.state == JobState.SKIPPED and job.reason_code == Reason.CANCELLED
        assert [pr.state for pr in prs] == ["closed"]
    finally:
        store.close()


def test_a_cancel_stops_a_running_agent_session_at_its_next_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-key")
    remote = make_remote(tmp_path / "forge", "svc-a", notes_repo())
    runtime = Runtime(
        str(tmp_path / "corral.db"), tmp_path / "work", tmp_path / "cache", sandbox="local"
    )

    turns = itertools.count(1)

    def read_forever_and_cancel_on_turn_3(_: FakeRequest) -> Turn:
        if next(turns) == 3:
            _cancel_now(runtime)
        return tool("read_file", path="NOTES.md")

    with FakeModelServer(read_forever_and_cancel_on_turn_3) as server:
        model = server.model_settings("anthropic").model_dump(mode="json", exclude_defaults=True)
        spec = write_spec(
            tmp_path / "spec.yaml",
            name="race",
            prompt="Mark the release notes as reviewed.",
            agent={"kind": "builtin", "model": model},
            targets={"repos": [str(remote)]},
        )
        run_campaign(load_spec(spec), runtime)
        asked = len(server.model_requests)
    store = Store.open(runtime.store_url)
    try:
        job, prs = _only_job_and_prs(store)
        [session] = store.sessions(job.id)
    finally:
        store.close()
    assert asked == 3  # the turn after the cancel was never asked for (the budget is 50)
    assert job.state == JobState.SKIPPED and prs == []
    assert session.status == "error" and "cancelled by alice" in (session.reason or "")
