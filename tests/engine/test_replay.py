"""Replay tests: histories recorded from real runs on the Temporal dev server, replayed
against today's workflow code. A change to the workflows that would break a campaign
already running on a fleet (non-determinism) fails here, in seconds, with no server.

Record them again after an intended change to the workflows' commands (see the README in
this folder): CORRAL_RECORD_HISTORIES=tests/engine/histories pytest tests/engine -k dashboard
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowReplayResult

from corral.engine.temporal.workflows import CampaignWorkflow, JobWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    """From before step chains (they replay on the old path) and after."""
    names = {path.stem for path in HISTORIES}
    assert {"held-campaign", "held-docs-a", "held-docs-b"} <= names
    assert {"chains-held-campaign", "chains-held-docs-a", "chains-held-docs-b"} <= names


def _activities(name: str) -> list[str]:
    """The activities a recorded workflow scheduled through a task queue, in order."""
    history = json.loads((Path(__file__).parent / "histories" / f"{name}.json").read_text())
    return [
        event["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for event in history["events"]
        if "activityTaskScheduledEventAttributes" in event
    ]


def test_step_chains_cut_a_jobs_round_trips_through_the_server() -> None:
    """The approved job: from claim, load and eight one-step activities to two chains (up
    to its approval, then push, PR and a look at CI); its store reads are local activities,
    recorded in its history as markers."""
    before = _activities("held-docs-a")
    assert before.count("corral.run_step") == 8 and "corral.claim" in before
    after = _activities("chains-held-docs-a")
    assert after == ["corral.run_steps", "corral.run_steps"]
    assert _activities("chains-held-docs-b") == ["corral.run_steps", "corral.run_steps"]
    assert "corral.admit" in _activities("held-campaign")
    assert _activities("chains-held-campaign") == []


def replay(path: Path, *, sandboxed: bool = True) -> WorkflowReplayResult:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[CampaignWorkflow, JobWorkflow],
        data_converter=pydantic_data_converter,
        **({} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}),
    )
    return asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=False))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
def test_todays_workflows_replay_a_recorded_history(path: Path) -> None:
    result = replay(path)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_a_changed_workflow_fails_replay() -> None:
    """The replay test can fail: a job workflow that skips its first step (the claim) no
    longer matches what the history recorded."""
    path = next(p for p in HISTORIES if p.stem == "held-docs-a")
    original = JobWorkflow._claim

    async def claim_elsewhere(self: JobWorkflow) -> str:
        return "some-other-queue"

    JobWorkflow._claim = claim_elsewhere  # type: ignore[method-assign]
    try:
        result = replay(path, sandboxed=False)  # the sandbox would import its own copy
    finally:
        JobWorkflow._claim = original  # type: ignore[method-assign]
    assert result.replay_failure is not None
