"""The outer loop on the local forge with a check only CI runs (the repository's own CI
command, which the gate never runs): CI's log is condensed and the agent gets the failing
file:line; a fix turns CI green, and an agent that cannot fix it stops at max_ci_rounds."""

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

# The gate's verifier passes on anything; CI's own check flags TODOs the way mypy prints
# errors, among a few hundred lines of other output, as a CI log has.
CONFIG = r"""
verifiers:
  custom:
    - name: present
      activate: NOTES.md
      command: [sh, -c, "test -f NOTES.md"]
      pattern: '^(?P<file>[^:]+):(?P<line>\d+):(?P<message>.*)$'
ci:
  command:
    - sh
    - -c
    - >-
      for i in $(seq 300); do echo "checking notes, pass $i: ok"; done;
      grep -n TODO NOTES.md
      | sed 's/^\([0-9]*\):.*/NOTES.md:\1: error: a TODO is left in the notes  [todo]/'
      | grep . && exit 1; echo 'no TODO left'
"""

WITH_TODO = "Release notes\nTODO: say what changed\n"
FIXED = "Release notes\nThe parser is faster.\n"


def spec_for(server: FakeModelServer, remote: Path, tmp_path: Path, rounds: int) -> Path:
    model = json.loads(server.model_settings("anthropic").model_dump_json(exclude_defaults=True))
    return write_spec(
        tmp_path / "spec.yaml",
        name="notes",
        prompt="Write the release notes.",
        agent={"kind": "builtin", "model": model},
        targets={"repos": [str(remote)]},
        budgets={"job": {"max_ci_rounds": rounds}},
    )


def run(spec: Path, store_url: str, tmp_path: Path, cache_dir: Path) -> None:
    subprocess.run(
        [CORRAL, "run", str(spec), *runtime_args(store_url, tmp_path / "work", cache_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GIT_ENV, "ANTHROPIC_API_KEY": "fake-key"},
    )


def test_a_ci_only_failure_reaches_the_agent_condensed_and_its_fix_goes_green(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    remote = make_remote(tmp_path / "forge", "docs", {".corral.yaml": CONFIG, "NOTES.md": "x\n"})
    store_url = new_store()
    script = [
        tool("write_file", path="NOTES.md", content=WITH_TODO),
        Turn(text="Written."),
        tool("write_file", path="NOTES.md", content=FIXED),
        Turn(text="The TODO is gone."),
    ]
    with FakeModelServer(script) as server:
        run(spec_for(server, remote, tmp_path, rounds=2), store_url, tmp_path, cache_dir)
        assert server.turns_left == 0
        fix_request = server.model_requests[2].latest_text()
    assert "NOTES.md:2: [compile] type error: a TODO is left in the notes [todo]" in fix_request
    assert "pass 150: ok" not in fix_request  # the log's noise stayed out

    store = Store.open(store_url)
    try:
        campaign = store.campaign("notes")
        assert campaign is not None
        (job,) = store.jobs(campaign.id)
        assert job.state == JobState.PR_OPEN and job.ci_rounds == 1
        (pr,) = store.pull_requests(campaign.id)
        assert pr.ci.state == "passed"
    finally:
        store.close()


def test_a_loop_that_cannot_converge_stops_at_max_ci_rounds(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    remote = make_remote(tmp_path / "forge", "docs", {".corral.yaml": CONFIG, "NOTES.md": "x\n"})
    store_url = new_store()
    script = [
        tool("write_file", path="NOTES.md", content=WITH_TODO),
        Turn(text="Written."),
        tool("write_file", path="NOTES.md", content=WITH_TODO + "More.\n"),
        Turn(text="Tried again."),
    ]
    with FakeModelServer(script) as server:
        run(spec_for(server, remote, tmp_path, rounds=1), store_url, tmp_path, cache_dir)
        assert server.turns_left == 0

    store = Store.open(store_url)
    try:
        campaign = store.campaign("notes")
        assert campaign is not None
        (job,) = store.jobs(campaign.id)
        assert job.state == JobState.CI_FAILED and job.ci_rounds == 1
        (pr,) = store.pull_requests(campaign.id)
        assert pr.ci.state == "failed" and "NOTES.md:2" in pr.ci.summary
    finally:
        store.close()


def command_campaign(tmp_path: Path, ci_command: str) -> tuple[Path, Path]:
    config = f"{CONFIG.split('ci:')[0]}ci:\n  command: [sh, -c, {json.dumps(ci_command)}]\n"
    remote = make_remote(tmp_path / "forge", "docs", {".corral.yaml": config, "NOTES.md": "x\n"})
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="notes",
        command="printf 'Release notes\\n' > NOTES.md",
        targets={"repos": [str(remote)]},
    )
    return spec, remote


def only_job(store_url: str) -> tuple[Store, int]:
    store = Store.open(store_url)
    campaign = store.campaign("notes")
    assert campaign is not None
    (job,) = store.jobs(campaign.id)
    return store, job.id


def test_a_flaky_failure_is_rerun_once_and_not_charged(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    """CI fails on its first run and passes on the second: recorded, commented, no round."""
    runs = tmp_path / "ci-runs"
    flaky = (
        f"echo run >> {runs}; test $(wc -l < {runs}) -ge 2 "
        "|| { echo 'tests/t.py:3: error: boom'; exit 1; }"
    )
    spec, _ = command_campaign(tmp_path, flaky)
    store_url = new_store()

    run(spec, store_url, tmp_path, cache_dir)

    store, job_id = only_job(store_url)
    try:
        job = store.job(job_id)
        assert job.state == JobState.PR_OPEN and job.ci_rounds == 0
        assert JobState.CI_FAILED not in [t.to_state for t in store.transitions(job_id)]
        kinds = [e.kind for e in store.events(job_id)]
        assert kinds.count("ci_rerun") == 1 and kinds.count("ci_flaky") == 1
        assert job.ci_verdict == "flaky"  # what `corral status` shows, from the job row
        (pr,) = store.pull_requests(job.campaign_id)
        assert pr.ci.state == "passed" and "flaky" in pr.body
        # the branch's run, the base branch's (which passed: not a failure already there),
        # and the re-run
        assert runs.read_text().count("run") == 3
    finally:
        store.close()


def test_an_infrastructure_failure_is_recorded_on_the_pr_not_given_to_the_agent(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    registry_down = (
        "echo 'npm ERR! code ETIMEDOUT'; "
        "echo 'npm ERR! network request to https://registry.npmjs.org/left-pad failed'; exit 1"
    )
    spec, _ = command_campaign(tmp_path, registry_down)
    store_url = new_store()

    run(spec, store_url, tmp_path, cache_dir)

    store, job_id = only_job(store_url)
    try:
        job = store.job(job_id)
        assert job.state == JobState.PR_OPEN and job.ci_rounds == 0
        events = [e for e in store.events(job_id) if e.kind == "ci_infrastructure"]
        assert len(events) == 1 and "unreachable" in events[0].data["reason"]
        assert job.ci_verdict == "infrastructure"
        (pr,) = store.pull_requests(job.campaign_id)
        assert pr.ci.state == "failed" and "outside this change" in pr.body
    finally:
        store.close()


def test_a_failure_already_on_the_base_branch_is_not_the_changes(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    legacy = "echo 'src/legacy.py:3: error: Name \"x\" is not defined  [name-defined]'; exit 1"
    spec, _ = command_campaign(tmp_path, legacy)
    store_url = new_store()

    run(spec, store_url, tmp_path, cache_dir)

    store, job_id = only_job(store_url)
    try:
        job = store.job(job_id)
        assert job.state == JobState.PR_OPEN and job.ci_rounds == 0
        kinds = [e.kind for e in store.events(job_id)]
        assert kinds.count("ci_preexisting") == 1 and "ci_rerun" not in kinds
        assert job.ci_verdict == "on_base"
        (pr,) = store.pull_requests(job.campaign_id)
        assert pr.ci.state == "failed" and "also fails on main" in pr.body
    finally:
        store.close()
