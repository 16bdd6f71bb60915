"""A campaign in two steps, through the real CLI: a command, then an agent (the built-in
one, on the fake model server) that fixes what the command left broken, seeing its diff and
the gate's findings; each step is a session of the job's timeline."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from campaign_helpers import runtime_args, write_spec

from corral.spec import CampaignSpec
from corral.states import JobState
from corral.store import Store
from corral.testing.cli import CORRAL
from corral.testing.fake_llm import FakeModelServer, Turn, tool
from corral.testing.repos import GIT_ENV, make_remote, notes_repo

COMMAND = (
    "printf 'Reviewed.\\n' >> NOTES.md; "
    "if [ -f LEGACY ]; then printf 'TODO: migrate the old section\\n' >> NOTES.md; fi"
)
"""The codemod: on a legacy repository it leaves a TODO, which the notes verifier refuses."""

SCRIPT = [
    tool("write_file", path="NOTES.md", content="Release notes.\nReviewed.\n"),
    Turn(text="Migrated the old section; no TODO left."),
]


def test_an_agent_step_fixes_what_the_command_broke(tmp_path: Path, cache_dir: Path) -> None:
    forge = tmp_path / "forge"
    legacy = {**notes_repo(), "LEGACY": "old layout\n"}
    remotes = [
        make_remote(forge, "plain-a", notes_repo()),
        make_remote(forge, "legacy", legacy),
        make_remote(forge, "plain-b", notes_repo()),
    ]
    store_url = str(tmp_path / "corral.db")
    with FakeModelServer(SCRIPT) as server:
        model = json.loads(
            server.model_settings("anthropic").model_dump_json(exclude_defaults=True)
        )
        spec = write_spec(
            tmp_path / "spec.yaml",
            name="two-steps",
            steps=[{"command": COMMAND}, {"prompt_file": "fix.md"}],
            agent={"kind": "builtin", "model": model},
            targets={"repos": [str(r) for r in remotes]},
        )
        (tmp_path / "fix.md").write_text("Fix what the codemod left: NOTES.md must hold no TODO.")
        result = subprocess.run(
            [CORRAL, "run", str(spec), *runtime_args(store_url, tmp_path / "work", cache_dir)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **GIT_ENV, "ANTHROPIC_API_KEY": "fake-key"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.turns_left == 0  # one agent session: only the legacy repository's
        asked = server.model_requests[0].latest_text()
    assert "Fix what the codemod left" in asked
    assert "+TODO: migrate the old section" in asked  # the command's diff
    assert "TODO" in asked.split("The gate's findings on it:")[1]  # and the gate's findings

    store = Store.open(store_url)
    try:
        campaign = store.campaign("two-steps")
        assert campaign is not None
        jobs = {job.name: job for job in store.jobs(campaign.id)}
        assert {job.state for job in jobs.values()} == {JobState.PR_OPEN}
        fixed = store.sessions(jobs["legacy"].id)
        assert [(s.purpose, s.agent, s.status) for s in fixed] == [
            ("step 1", "command", "gate_failed"),
            ("step 2", "builtin", "passed"),
        ]
        plain = store.sessions(jobs["plain-a"].id)
        assert [(s.purpose, s.status) for s in plain] == [("step 1", "passed")]
        skipped = [e for e in store.events(jobs["plain-a"].id) if e.kind == "step_skipped"]
        assert [e.data["step"] for e in skipped] == [2]
        body = store.pull_request_for_job(jobs["legacy"].id).body  # type: ignore[union-attr]
        assert "What corral checked before opening this pull request" in body
        assert "| `notes` in `.` | passed |" in body
        assert "| guard (scope, tests kept) | passed (1 file(s), 1 line(s) changed) |" in body
    finally:
        store.close()


def test_a_step_gives_one_kind_of_change() -> None:
    with pytest.raises(ValueError, match="exactly one of command, prompt or prompt_file"):
        CampaignSpec.model_validate(
            {
                "name": "x",
                "steps": [{"command": "true", "prompt": "and this"}],
                "targets": {"repos": ["/r/a"]},
            }
        )
    with pytest.raises(ValueError, match="exactly one of prompt, prompt_file, command or steps"):
        CampaignSpec.model_validate(
            {
                "name": "x",
                "command": "true",
                "steps": [{"command": "true"}],
                "targets": {"repos": ["/r/a"]},
            }
        )
