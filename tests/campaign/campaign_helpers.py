"""Helpers for the campaign tests: specs, the real CLI, and what a campaign left in the store
and on its remotes (which `corral.testing.repos.make_remote` makes)."""

from __future__ import annotations

import itertools
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from corral.states import JobState, Reason
from corral.store import Store
from corral.store.records import Job, Session
from corral.testing.cli import run_corral
from corral.testing.repos import git, make_remote, notes_repo

CONTRIBUTING = "printf '# Contributing\\n' > CONTRIBUTING.md"
"""A change command that needs no toolchain: a CONTRIBUTING file in every repository."""


def write_spec(path: Path, **fields: Any) -> Path:
    """A spec file (JSON is YAML too)."""
    path.write_text(json.dumps(fields, indent=2))
    return path


def corral(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_corral(*args, timeout=timeout)


def runtime_args(store: str, work: Path, cache: Path) -> list[str]:
    return [
        "--store",
        store,
        "--work-dir",
        str(work),
        "--cache-dir",
        str(cache),
        "--sandbox",
        "local",
    ]


def remote_branches(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines()


def jobs_of(store_url: str, campaign: str) -> list[Job]:
    store = Store.open(store_url)
    try:
        record = store.campaign(campaign)
        return [] if record is None else store.jobs(record.id)
    finally:
        store.close()


def assert_one_pr_each_and_every_transition(
    store_url: str, campaign: str, remotes: list[Path]
) -> dict[str, list[Session]]:
    """Every job has its PR, one each, pushed once; every transition chains; every job had
    its baseline and a session. Returns the sessions by job name."""
    store = Store.open(store_url)
    try:
        record = store.campaign(campaign)
        assert record is not None
        jobs = store.jobs(record.id)
        assert {job.state for job in jobs} == {JobState.PR_OPEN}, [(j.name, j.reason) for j in jobs]
        prs = store.pull_requests(record.id)
        assert sorted(pr.repo for pr in prs) == sorted(str(r) for r in remotes)
        for job in jobs:
            chain = store.transitions(job.id)
            assert chain[0].from_state is None and chain[0].to_state == JobState.QUEUED
            for before, after in itertools.pairwise(chain):
                assert after.from_state == before.to_state, (job.name, before, after)
            states = [t.to_state for t in chain]
            for state in (JobState.PREPARED, JobState.BASELINED, JobState.GATING):
                assert state in states, (job.name, states)
            assert states[-3:] == [JobState.COMMITTED, JobState.PUSHED, JobState.PR_OPEN]
            assert store.verifier_runs(job.id, "baseline"), job.name
        sessions = {job.name: store.sessions(job.id) for job in jobs}
    finally:
        store.close()
    assert all(sessions.values()), sessions
    for remote in remotes:
        assert remote_branches(remote) == [f"corral/{campaign}", "main"]
    return sessions


def held_campaign(tmp_path: Path) -> tuple[Path, list[Path]]:
    """The spec of campaign `held` over two toolchain-free repositories (docs-a, docs-b) whose
    jobs wait for a person's approval before their push; and the two remotes."""
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, name, notes_repo()) for name in ("docs-a", "docs-b")]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="held",
        command="printf 'Release notes, reviewed.\\n' > NOTES.md",
        targets={"repos": [str(r) for r in remotes]},
        approval="each",
    )
    return spec, remotes


def assert_held(store_url: str, remotes: list[Path]) -> dict[str, Job]:
    """Both of `held`'s jobs await approval and nothing was pushed; the jobs by name."""
    jobs = {job.name: job for job in jobs_of(store_url, "held")}
    assert {job.state for job in jobs.values()} == {JobState.AWAITING_APPROVAL}
    assert all(remote_branches(r) == ["main"] for r in remotes)
    return jobs


def assert_a_approved_b_rejected(jobs: dict[str, Job], remotes: list[Path]) -> None:
    """docs-a has its PR; docs-b ended without one, rejected "not this quarter"."""
    assert jobs["docs-a"].state == JobState.PR_OPEN
    assert jobs["docs-b"].state == JobState.FAILED
    assert jobs["docs-b"].reason_code == Reason.REJECTED
    assert "not this quarter" in (jobs["docs-b"].reason or "")
    assert remote_branches(remotes[0]) == ["corral/held", "main"]
    assert remote_branches(remotes[1]) == ["main"]


def move_base(remote: Path, files: dict[str, str]) -> str:
    """A commit on the remote's main, as a person merging something else would make it."""
    with tempfile.TemporaryDirectory(prefix="corral-move-") as scratch:
        tree = Path(scratch) / "tree"
        git(Path(scratch), "clone", "-q", str(remote), str(tree))
        for name, text in files.items():
            (tree / name).write_text(text)
        git(tree, "add", "-A")
        git(tree, "commit", "-q", "-m", "meanwhile on main")
        git(tree, "push", "-q", "origin", "main")
        return git(tree, "rev-parse", "HEAD").strip()
