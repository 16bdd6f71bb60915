"""Targeting and pull-request metadata on a campaign over local repositories (in process,
with the local forge, which keeps a PR's labels and reviewers in the store):

- `has_file` skips a repository without a service catalog entry after its checkout (not a
  failure);
- every PR gets the campaign's labels and reviewers, `repos.yaml` adds per-repository ones
  and changes a base branch, and the owners CODEOWNERS names for the changed files are
  asked, read from the base commit (a change that rewrites CODEOWNERS picks nobody);
- a forge that refuses labels fails no job: the refusal is the job's `pr_metadata` event.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from campaign_helpers import write_spec

from corral.config import ConfigError
from corral.engine.campaign import run_campaign
from corral.forge.base import ForgeError, PullRequest
from corral.forge.local import LocalForge
from corral.pipeline.context import Runtime
from corral.spec import load_spec, selected_targets
from corral.states import JobState, Reason
from corral.store import Store
from corral.testing.repos import git, make_remote, notes_repo

CHANGE = (
    "printf 'Release notes, reviewed.\\n' > NOTES.md && mkdir -p .github && "
    "printf '* @mallory\\n' > .github/CODEOWNERS"
)
"""The change, which also tries to name its own reviewer through CODEOWNERS."""
OWNERS = "* @fallback\nNOTES.md @alice @octo/writers docs@example.com\n*.java @javateam\n"


def _remotes(forge: Path) -> dict[str, Path]:
    java = {**notes_repo(), "catalog/catalog-info.yaml": "kind: Component\n"}
    remotes = {
        "svc-a": make_remote(forge, "svc-a", {**java, ".github/CODEOWNERS": OWNERS}),
        "svc-b": make_remote(forge, "svc-b", notes_repo()),
        "svc-c": make_remote(forge, "svc-c", {**java, "CODEOWNERS": "NOTES.md @dave\n"}),
    }
    git(remotes["svc-c"], "branch", "develop", "main")
    return remotes


def _spec(tmp_path: Path, remotes: dict[str, Path], overrides: str) -> Path:
    (tmp_path / "repos.yaml").write_text(overrides)
    return write_spec(
        tmp_path / "spec.yaml",
        name="metadata",
        command=CHANGE,
        targets={
            "repos": [str(r) for r in remotes.values()],
            "has_file": ["catalog-info.y*ml"],
            "overrides": "repos.yaml",
        },
        pull_request={"labels": ["fleet"], "reviewers": ["bob"], "codeowners": True},
    )


OVERRIDES = 'svc-c:\n  base_branch: develop\n  labels: [payments]\n  reviewers: ["@carol"]\n'


def _run(tmp_path: Path, spec: Path) -> Store:
    store_url = str(tmp_path / "corral.db")
    runtime = Runtime(store_url, tmp_path / "work", tmp_path / "cache", sandbox="local")
    run_campaign(load_spec(spec), runtime)
    return Store.open(store_url)


def test_labels_reviewers_and_owners_reach_each_pull_request(tmp_path: Path) -> None:
    remotes = _remotes(tmp_path / "forge")
    store = _run(tmp_path, _spec(tmp_path, remotes, OVERRIDES))
    try:
        campaign = store.campaign("metadata")
        assert campaign is not None
        jobs = {job.name: job for job in store.jobs(campaign.id)}
        assert jobs["svc-b"].state == JobState.SKIPPED
        assert jobs["svc-b"].reason_code == Reason.NOT_TARGETED
        assert "has_file" in (jobs["svc-b"].reason or "")
        prs = store.pull_requests_by_job(campaign.id)
        a, c = prs[jobs["svc-a"].id], prs[jobs["svc-c"].id]
        assert a.labels == ("fleet",)
        # .github/CODEOWNERS changed too: owned by `*` under the base's rules; no mallory
        assert a.reviewers == ("bob", "fallback", "alice", "octo/writers")
        assert (c.labels, c.reviewers) == (("fleet", "payments"), ("bob", "carol", "dave"))
        assert c.base_branch == "develop"
        events = [e for e in store.events(jobs["svc-a"].id) if e.kind == "pr_metadata"]
        assert len(events) == 1
        assert events[0].data["problems"] == [
            "owners named by e-mail cannot be asked: docs@example.com"
        ]
    finally:
        store.close()


def test_a_forge_refusing_labels_fails_no_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: LocalForge, pr: PullRequest, labels: object) -> PullRequest:
        raise ForgeError("labelling pull request #1 failed: 403 Must have admin rights")

    monkeypatch.setattr(LocalForge, "add_labels", refuse)
    remotes = _remotes(tmp_path / "forge")
    store = _run(tmp_path, _spec(tmp_path, remotes, "{}\n"))
    try:
        campaign = store.campaign("metadata")
        assert campaign is not None
        job = next(j for j in store.jobs(campaign.id) if j.name == "svc-a")
        assert job.state == JobState.PR_OPEN
        pr = store.pull_request_for_job(job.id)
        assert pr is not None and pr.labels == () and pr.reviewers[0] == "bob"
        [event] = [e for e in store.events(job.id) if e.kind == "pr_metadata"]
        assert "labels not added: labelling pull request #1 failed: 403" in json.dumps(
            event.data["problems"]
        )
    finally:
        store.close()


def test_an_override_naming_no_target_is_refused(tmp_path: Path) -> None:
    remotes = _remotes(tmp_path / "forge")
    spec = load_spec(_spec(tmp_path, remotes, "svc-z:\n  labels: [x]\n"))
    with pytest.raises(ConfigError, match="'svc-z' is not a target"):
        selected_targets(spec)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("svc-a:\n  labels: fleet\n", "repos.yaml:2 svc-a.labels: Input should be a valid list"),
        ("svc-a:\n  reviewer: [bob]\n", "repos.yaml:2 svc-a.reviewer: Extra inputs"),
        ("svc-a:\n  workspace: ../up\n", "repos.yaml:2 svc-a.workspace: must be a relative folder"),
        ("- svc-a\n", "repos.yaml:1 (top): Input should be a valid dictionary"),
        ("svc-a:\n  labels: ['a,b']\n", "repos.yaml:2 svc-a.labels: not a label or reviewer"),
    ],
)
def test_a_bad_overrides_file_names_file_line_and_field(
    tmp_path: Path, text: str, problem: str
) -> None:
    remotes = _remotes(tmp_path / "forge")
    with pytest.raises(ConfigError) as caught:
        load_spec(_spec(tmp_path, remotes, text))
    assert problem in str(caught.value)
    assert "targets.overrides" in str(caught.value)
