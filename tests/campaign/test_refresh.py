"""Stale PRs and CI load on the local forge: a base branch that moves under ten open PRs
(the clean ones rebased, re-gated and CI'd again, the conflicting one redone on the new
base), `refresh: never` and `daily`, and `ci_concurrency` seen from the forge's side."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from campaign_helpers import corral, move_base, write_spec
from fastapi.testclient import TestClient

from corral.engine.campaign import run_campaign
from corral.engine.local import LocalEngine
from corral.forge.base import CIStatus, Forge, PullRequest
from corral.pipeline.context import CampaignContext, Runtime
from corral.pipeline.summary import summarize
from corral.spec import load_spec
from corral.states import JobState
from corral.store import Store
from corral.testing.repos import NOTES_CONFIG, git, make_remote
from corral.web.app import create_app
from corral.web.settings import DashboardSettings

NOTES = "Notes\nThe second line.\n"
CHANGE = "sed -i '1s/.*/Release notes/' NOTES.md"
"""The campaign's change: it rewrites NOTES.md's first line."""


def campaign(
    tmp_path: Path, repos: int, ci: str = "true", **settings: Any
) -> tuple[Path, list[Path]]:
    forge = tmp_path / "forge"
    config = f"{NOTES_CONFIG}ci:\n  command: [sh, -c, {ci!r}]\n"
    remotes = [
        make_remote(forge, f"notes-{n}", {".corral.yaml": config, "NOTES.md": NOTES})
        for n in range(repos)
    ]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="notes",
        command=CHANGE,
        targets={"repos": [str(r) for r in remotes]},
        concurrency=4,
        **settings,
    )
    return spec, remotes


def run(spec_path: Path, tmp_path: Path, cache_dir: Path, on_start: Any = None) -> Store:
    runtime = Runtime(str(tmp_path / "corral.db"), tmp_path / "work", cache_dir, sandbox="local")
    run_campaign(load_spec(spec_path), runtime, engine=LocalEngine(), on_start=on_start)
    return Store.open(runtime.store_url)


def show(remote: Path, ref: str, path: str) -> str:
    return git(remote, "show", f"{ref}:{path}")


def test_a_base_that_moves_under_ten_prs_rebases_the_clean_ones_and_redoes_the_conflicting_one(
    tmp_path: Path, cache_dir: Path
) -> None:
    spec, remotes = campaign(tmp_path, 10)
    store = run(spec, tmp_path, cache_dir)
    first = {j.repo: j for j in store.jobs(store.campaign("notes").id)}  # type: ignore[union-attr]
    assert {j.state for j in first.values()} == {JobState.PR_OPEN}
    store.close()

    tips = {str(r): move_base(r, {"OTHER.md": "Meanwhile.\n"}) for r in remotes[1:]}
    conflicting = str(remotes[0])  # main rewrites the very line the change rewrites
    tips[conflicting] = move_base(remotes[0], {"NOTES.md": "Changelog\nThe second line.\n"})

    store = run(spec, tmp_path, cache_dir)
    try:
        campaign_id = store.campaign("notes").id  # type: ignore[union-attr]
        prs = {pr.repo: pr for pr in store.pull_requests(campaign_id)}
        assert len(prs) == 10  # the same ten PRs: none opened twice
        for job in store.jobs(campaign_id):
            remote, pr = Path(job.repo), prs[job.repo]
            head = git(remote, "rev-parse", "corral/notes").strip()
            assert job.state == JobState.PR_OPEN, job.reason
            assert (job.base_sha, job.head_sha, pr.head_sha) == (tips[job.repo], head, head)
            assert git(remote, "rev-parse", "corral/notes^").strip() == tips[job.repo]
            assert show(remote, "corral/notes", "NOTES.md").startswith("Release notes\n")
            assert pr.ci.state == "passed" and pr.ci.sha == head  # CI ran again, on the new head
            kinds = [e.kind for e in store.events(job.id)]
            if job.repo == conflicting:
                (conflict,) = [e for e in store.events(job.id) if e.kind == "refresh_conflict"]
                assert job.freshness == "redone"
                assert conflict.data["why"] == "does not apply cleanly"
                assert JobState.BASELINED in [t.to_state for t in store.transitions(job.id)][-6:]
            else:
                assert job.freshness == "rebased" and kinds.count("refreshed") == 1
                assert "was rebased onto it" in pr.body  # the local forge's comments
                assert show(remote, "corral/notes", "OTHER.md") == "Meanwhile.\n"
                assert head != first[job.repo].head_sha
                assert len(store.gate_verdicts(job.id)) == 2  # again on the rebased tree
        expected = {"rebased": 9, "redone": 1}
        record = store.campaign("notes")
        assert record is not None
        assert summarize(store, record).to_json()["pull_requests"] == expected
        assert store.pr_flag_counts(campaign_id) == expected  # the dashboard's, in SQL
        settings = DashboardSettings(allowed_hosts=["testserver"])
        page = TestClient(create_app(store, settings)).get(f"/campaigns/{campaign_id}").text
        assert "9 rebased onto its moved base" in page
        assert page.count(">redone on its moved base<") == 1  # its repository's row
    finally:
        store.close()
    shown = corral("status", "notes", "--store", str(tmp_path / "corral.db")).stdout
    assert "9 rebased onto its moved base, 1 redone on its moved base" in shown


def test_refresh_never_shows_the_pr_behind_and_leaves_its_branch(
    tmp_path: Path, cache_dir: Path
) -> None:
    spec, (remote,) = campaign(tmp_path, 1, refresh="never")
    run(spec, tmp_path, cache_dir).close()
    head = git(remote, "rev-parse", "corral/notes").strip()
    move_base(remote, {"OTHER.md": "Meanwhile.\n"})

    store = run(spec, tmp_path, cache_dir)
    try:
        (job,) = store.jobs(store.campaign("notes").id)  # type: ignore[union-attr]
        assert job.freshness == "behind" and job.head_sha == head
        assert git(remote, "rev-parse", "corral/notes").strip() == head
    finally:
        store.close()


def test_refresh_daily_rebases_once_then_waits_a_day(tmp_path: Path, cache_dir: Path) -> None:
    spec, (remote,) = campaign(tmp_path, 1, refresh="daily")
    run(spec, tmp_path, cache_dir).close()
    move_base(remote, {"OTHER.md": "Meanwhile.\n"})
    run(spec, tmp_path, cache_dir).close()
    rebased = git(remote, "rev-parse", "corral/notes").strip()
    move_base(remote, {"OTHER.md": "Later still.\n"})

    store = run(spec, tmp_path, cache_dir)
    try:
        (job,) = store.jobs(store.campaign("notes").id)  # type: ignore[union-attr]
        assert job.freshness == "behind" and job.head_sha == rebased
        assert [e.kind for e in store.events(job.id)].count("refreshed") == 1
    finally:
        store.close()


class CIWatchingForge:
    """The local forge, counting from its side how many PRs have CI running: from the push
    of a commit until CI's verdict on that commit."""

    def __init__(self, inner: Forge) -> None:
        self.inner = inner
        self.name = inner.name
        self.running: set[tuple[str, str]] = set()
        self.most = 0
        self.pushes = 0
        self._lock = threading.Lock()

    def push(self, checkout: Path, repo: str, branch: str, expect: str | None = None) -> str:
        sha = self.inner.push(checkout, repo, branch, expect)
        with self._lock:
            self.pushes += 1
            self.running.add((repo, sha))
            self.most = max(self.most, len(self.running))
        return sha

    def ci_status(self, pr: PullRequest) -> CIStatus:
        status = self.inner.ci_status(pr)
        if status.state in ("passed", "failed"):
            with self._lock:
                self.running.discard((pr.repo, status.sha))
        return status

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def run_watching_ci(spec: Path, tmp_path: Path, cache_dir: Path) -> tuple[Store, CIWatchingForge]:
    """Run the campaign with its forge wrapped, counting the PRs with CI running at once."""
    watching: list[CIWatchingForge] = []

    def watch_forge(ctx: CampaignContext) -> None:
        watching.append(CIWatchingForge(ctx.forge))
        ctx.forge = watching[0]

    store = run(spec, tmp_path, cache_dir, on_start=watch_forge)
    return store, watching[0]


def test_ci_concurrency_caps_the_prs_with_ci_running(tmp_path: Path, cache_dir: Path) -> None:
    spec, _ = campaign(tmp_path, 6, ci="sleep 3", ci_concurrency=2)
    store, watching = run_watching_ci(spec, tmp_path, cache_dir)
    try:
        jobs = store.jobs(store.campaign("notes").id)  # type: ignore[union-attr]
        assert {j.state for j in jobs} == {JobState.PR_OPEN}
        assert watching.pushes == 6 and watching.most == 2
        assert any(e.kind == "ci_slot_wait" for j in jobs for e in store.events(j.id))
    finally:
        store.close()


def test_refresh_pushes_wait_for_a_ci_slot_within_the_run(tmp_path: Path, cache_dir: Path) -> None:
    spec, remotes = campaign(tmp_path, 3, ci="sleep 1", ci_concurrency=1)
    run(spec, tmp_path, cache_dir).close()
    for remote in remotes:
        move_base(remote, {"OTHER.md": "Meanwhile.\n"})
    store, watching = run_watching_ci(spec, tmp_path, cache_dir)
    try:
        jobs = store.jobs(store.campaign("notes").id)  # type: ignore[union-attr]
        assert {j.freshness for j in jobs} == {"rebased"}  # all three in the one run
        assert watching.pushes == 3 and watching.most == 1
        assert any(e.kind == "ci_slot_wait" for j in jobs for e in store.events(j.id))
    finally:
        store.close()


def test_a_rebase_the_gate_refuses_is_redone_on_the_new_base(
    tmp_path: Path, cache_dir: Path
) -> None:
    """The base brings in a TODO (which the notes verifier fails on): the rebased tree is
    clean to merge but fails the gate against the old baseline, so the change is redone,
    with a fresh baseline that knows the TODO is the base's."""
    spec, (remote,) = campaign(tmp_path, 1)
    run(spec, tmp_path, cache_dir).close()
    tip = move_base(remote, {"LATER.md": "x\n", "NOTES.md": "Notes\nThe second line.\nTODO\n"})

    store = run(spec, tmp_path, cache_dir)
    try:
        (job,) = store.jobs(store.campaign("notes").id)  # type: ignore[union-attr]
        (conflict,) = [e for e in store.events(job.id) if e.kind == "refresh_conflict"]
        assert conflict.data["why"].startswith("fails the gate once rebased")
        assert job.state == JobState.PR_OPEN and job.freshness == "redone"
        assert git(remote, "rev-parse", "corral/notes^").strip() == tip == job.base_sha
    finally:
        store.close()
