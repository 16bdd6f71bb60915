"""What one job costs corral, counted (bench/fleet.py prints what it takes in seconds), and
that the writes batched into one transaction are all or nothing."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from corral.engine.campaign import run_campaign
from corral.engine.local import LocalEngine
from corral.pipeline.context import Runtime, open_campaign
from corral.pipeline.machine import advance
from corral.spec import CampaignSpec
from corral.states import JobState
from corral.store import StaleStateError, Store
from corral.store import models as m
from corral.store.records import JobFacts
from corral.testing.repos import NOTES_CONFIG, git, make_remote, notes_repo

CONTRIBUTING = "printf '# Contributing\\n' > CONTRIBUTING.md"

GIT_PROCESSES_PER_JOB = 78
"""A job of the fleet bench (a change command, one verifier, a local PR and its CI) from
queued to pr_open and one look at it: 75 now (74 per repository in the bench, where the
branch name is checked once for all), 126 before one repository check served several
commands, the clone was checked out once, the push stopped resetting a checkout already at
its commit, the change step stopped reading its passed tree twice (100), the verifiers' tree
guard found its git folder without git and took each snapshot as one checked sequence (82),
the working tree's tree skipped its second add where nothing tracked is below a build
folder, and the look at the PR its checkout and clean of the base."""


def _spec(name: str, remote: Path) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {"name": name, "command": CONTRIBUTING, "targets": {"repos": [str(remote)]}}
    )


def test_a_job_to_its_pull_request_starts_fewer_git_processes_than_the_bound(
    tmp_path: Path, cache_dir: Path, spawned: collections.Counter[str]
) -> None:
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    runtime = Runtime(str(tmp_path / "corral.db"), tmp_path / "work", cache_dir, sandbox="local")
    spawned.clear()  # the forge's repository is made, not counted
    summary = run_campaign(_spec("costs", remote), runtime, engine=LocalEngine(1))

    assert [line.job.state for line in summary.lines] == [JobState.PR_OPEN]
    assert sum(spawned.values()) <= GIT_PROCESSES_PER_JOB, spawned
    assert spawned["clone"] == 2, spawned  # the job's checkout, and CI's
    assert spawned["symbolic-ref"] == 0, spawned


def test_a_transition_and_its_facts_are_stored_together_or_not_at_all(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write failing halfway through prepare's one transaction leaves the job queued with
    none of prepare's facts: the step runs again from the start and the job goes on."""
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    runtime = Runtime(str(tmp_path / "corral.db"), tmp_path / "work", cache_dir, sandbox="local")
    store = Store.open(runtime.store_url)
    try:
        ctx = open_campaign(_spec("atomic", remote), runtime, store)
        job = store.jobs(ctx.campaign.id)[0]

        with pytest.raises(StaleStateError):
            store.transition(
                job.id, JobState.PREPARED, expect=JobState.BASELINED, facts=JobFacts(base_sha="x")
            )
        assert store.job(job.id).base_sha is None

        with monkeypatch.context() as patch:
            patch.setattr(m, "TransitionRow", _failing_row)
            with pytest.raises(RuntimeError, match="the disk is full"):
                store.transition(
                    job.id, JobState.PREPARED, expect=job.state, facts=JobFacts(base_sha="x")
                )
        after = store.job(job.id)
        assert (after.state, after.base_sha, after.checkout) == (JobState.QUEUED, None, None)
        assert [t.to_state for t in store.transitions(job.id)] == [JobState.QUEUED]

        prepared = advance(ctx, after, "prepare")
        assert prepared.state == JobState.PREPARED
        assert prepared.base_sha and prepared.checkout and prepared.branch
        chain = [(t.from_state, t.to_state) for t in store.transitions(job.id)]
        assert chain == [(None, JobState.QUEUED), (JobState.QUEUED, JobState.PREPARED)]
    finally:
        store.close()


def _failing_row(**fields: Any) -> Any:
    raise RuntimeError("the disk is full")


@pytest.mark.parametrize(
    ("edit", "state"),
    [("TODO: more\n", JobState.FAILED), ("More notes.\n", JobState.COMMITTED)],
    ids=["refused", "passes"],
)
def test_a_tree_changed_after_the_gate_passed_is_gated_again_before_it_is_committed(
    tmp_path: Path, cache_dir: Path, edit: str, state: JobState
) -> None:
    """What the change step records as passed is not looked at again there: commit compares
    it with the checkout and runs the gate afresh on a tree that differs."""
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    runtime = Runtime(str(tmp_path / "corral.db"), tmp_path / "work", cache_dir, sandbox="local")
    store = Store.open(runtime.store_url)
    try:
        ctx = open_campaign(_spec("regate", remote), runtime, store)
        job = store.jobs(ctx.campaign.id)[0]
        for step in ("prepare", "baseline", "change"):
            job = advance(ctx, job, step)
        assert job.state == JobState.GATING and job.gated_tree
        checkout = Path(job.checkout or "")
        with (checkout / "NOTES.md").open("a") as notes:
            notes.write(edit)

        job = advance(ctx, job, "commit")

        assert job.state == state, job.reason
        if state == JobState.COMMITTED:
            committed = git(checkout, "show", f"{job.head_sha}:NOTES.md")
            assert committed.endswith(edit)
            assert git(checkout, "rev-parse", f"{job.head_sha}^{{tree}}").strip() != job.gated_tree
    finally:
        store.close()


def test_a_repository_config_is_parsed_once_per_text_and_a_changed_one_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ruamel.yaml import YAML

    from corral.config import load_repo_config

    parses: list[str] = []
    load = YAML.load

    def counted(self: YAML, stream: Any) -> Any:
        parses.append(str(stream))
        return load(self, stream)

    monkeypatch.setattr(YAML, "load", counted)
    text = NOTES_CONFIG.replace("name: notes", "name: a")
    one, two = tmp_path / "one", tmp_path / "two"
    for repo in (one, two):
        repo.mkdir()
        (repo / ".corral.yaml").write_text(text)

    first = load_repo_config(one)
    first.verifiers.custom.clear()  # a caller's change never reaches the next one
    second = load_repo_config(two)
    assert [v.name for v in second.verifiers.custom] == ["a"]
    assert len(parses) <= 1  # at most once: an earlier test may have parsed this text

    (two / ".corral.yaml").write_text(text.replace("name: a", "name: b"))
    assert [v.name for v in load_repo_config(two).verifiers.custom] == ["b"]
    assert parses[-1].count("name: b") == 1


def test_a_look_at_an_open_pr_fetches_its_base_without_checking_it_out_and_sees_it_move(
    tmp_path: Path, cache_dir: Path, spawned: collections.Counter[str]
) -> None:
    """`watch` reads the base's tip with a fetch: no checkout and no clean of the job's
    files on every look (what works on them resets them first), and a base that moved
    is still seen and the PR rebased onto it."""
    remote = make_remote(tmp_path / "forge", "docs", notes_repo())
    runtime = Runtime(str(tmp_path / "corral.db"), tmp_path / "work", cache_dir, sandbox="local")
    spec = _spec("looks", remote)
    (first,) = run_campaign(spec, runtime, engine=LocalEngine(1)).lines
    checkout = Path(first.job.checkout or "")
    (checkout / "stray.txt").write_text("left by an earlier step\n")
    spawned.clear()

    (again,) = run_campaign(spec, runtime, engine=LocalEngine(1)).lines

    assert again.job.state == JobState.PR_OPEN and again.job.base_sha == first.job.base_sha
    assert spawned["fetch"] >= 1 and spawned["checkout"] == 0 and spawned["clean"] == 0, spawned
    assert (checkout / "stray.txt").is_file()  # the files were not touched

    tip = _commit_on_main(tmp_path / "person", remote, "OTHER.md")
    (moved,) = run_campaign(spec, runtime, engine=LocalEngine(1)).lines

    assert moved.job.state == JobState.PR_OPEN, moved.job.reason
    assert (moved.job.base_sha, moved.job.freshness) == (tip, "rebased")
    assert git(remote, "rev-parse", "corral/looks^").strip() == tip
    assert git(remote, "show", "corral/looks:OTHER.md") == "Meanwhile.\n"
    assert git(remote, "show", "corral/looks:CONTRIBUTING.md") == "# Contributing\n"
    assert "stray.txt" not in git(remote, "ls-tree", "--name-only", "corral/looks")


def _commit_on_main(scratch: Path, remote: Path, name: str) -> str:
    """A commit on the remote's main, as a person merging something else would make it."""
    git(scratch.parent, "clone", "-q", str(remote), str(scratch))
    (scratch / name).write_text("Meanwhile.\n")
    git(scratch, "add", "-A")
    git(scratch, "commit", "-q", "-m", "meanwhile on main")
    git(scratch, "push", "-q", "origin", "main")
    return git(scratch, "rev-parse", "HEAD").strip()
