"""A prompt campaign with the built-in agent against the fake model server: the agent's
change passes the gate, CI fails on the pushed branch, CI's failure goes back to the agent,
and its fix updates the same pull request. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from campaign_helpers import runtime_args, write_spec

from corral.states import JobState
from corral.store import Store
from corral.testing.cli import CORRAL
from corral.testing.fake_llm import FakeModelServer, Turn, tool
from corral.testing.repos import GIT_ENV, make_remote

# The check passes when "reviewed" is in NOTES.md or in notes.local, a file git ignores:
# so it passes in the agent's checkout and fails on CI's fresh clone of the branch. Notes
# that are not release notes yet (the base branch's) pass: the failure is the change's.
NOTES_CONFIG = r"""
verifiers:
  custom:
    - name: review
      activate: NOTES.md
      command:
        - sh
        - -c
        - >-
          grep -q Release NOTES.md || exit 0;
          grep -qs reviewed NOTES.md notes.local || echo 'NOTES.md:1:not reviewed yet'
      pattern: '^(?P<file>[^:]+):(?P<line>\d+):(?P<message>.*)$'
"""

SCRIPT = [
    tool("write_file", path="notes.local", content="reviewed\n"),
    tool("write_file", path="NOTES.md", content="Release notes: see notes.local\n"),
    Turn(text="The notes are marked as reviewed."),
    # after CI's failure is fed back:
    tool("write_file", path="NOTES.md", content="Release notes, reviewed.\n"),
    Turn(text="Fixed: the review mark is in NOTES.md itself."),
]


def test_ci_failure_goes_back_to_the_agent_and_updates_the_pr(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    files = {".corral.yaml": NOTES_CONFIG, ".gitignore": "notes.local\n", "NOTES.md": "Notes.\n"}
    remote = make_remote(tmp_path / "forge", "docs", files)
    store_url = new_store()
    with FakeModelServer(SCRIPT) as server:
        spec = write_spec(
            tmp_path / "spec.yaml",
            name="review",
            prompt="Mark the release notes as reviewed.",
            agent={
                "kind": "builtin",
                "model": json.loads(
                    server.model_settings("anthropic").model_dump_json(exclude_defaults=True)
                ),
            },
            targets={"repos": [str(remote)]},
        )
        result = _run(spec, store_url, tmp_path, cache_dir)
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.turns_left == 0
        fix_request = server.model_requests[3].latest_text()
    assert "CI failed" in fix_request and "not reviewed yet" in fix_request

    store = Store.open(store_url)
    try:
        campaign = store.campaign("review")
        assert campaign is not None
        (job,) = store.jobs(campaign.id)
        assert job.state == JobState.PR_OPEN and job.ci_rounds == 1
        states = [t.to_state for t in store.transitions(job.id)]
        assert states[states.index(JobState.CI_FAILED) :] == [
            JobState.CI_FAILED,
            JobState.CHANGING,
            JobState.GATING,
            JobState.COMMITTED,
            JobState.PUSHED,
            JobState.PR_OPEN,
        ]
        (pr,) = store.pull_requests(campaign.id)  # the same PR, updated
        assert pr.ci.state == "passed" and pr.head_sha == job.head_sha
        sessions = store.sessions(job.id)
        assert [s.purpose for s in sessions] == ["change", "ci_fix"]
        assert all(s.agent == "builtin" and s.input_tokens > 0 for s in sessions)
        model_calls = [e for e in store.events(job.id, sessions[0].id) if e.kind == "model_call"]
        assert len(model_calls) == 3
        assert store.campaign_usage(campaign.id).total_tokens > 0
    finally:
        store.close()


def _run(
    spec: Path, store_url: str, tmp_path: Path, cache_dir: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, "run", str(spec), *runtime_args(store_url, tmp_path / "work", cache_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GIT_ENV, "ANTHROPIC_API_KEY": "fake-key"},
    )
