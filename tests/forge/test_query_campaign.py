"""A campaign whose targets come from a forge query, run by `corral run` against a loopback
GitLab that serves both its API (checking every request) and git over smart HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from forge_servers import _GitHandler, basic_auth
from gitlab_api import GitLabApi, _GitLabHandler

from corral.states import JobState
from corral.store import Store
from corral.testing.cli import CORRAL
from corral.testing.repos import GIT_ENV, git, init_repo

TOKEN = "glpat-corralQueryToken0123"
NOTES_CONFIG = """\
verifiers:
  custom:
    - name: notes
      activate: NOTES.md
      command: ["sh", "-c", "! grep -n TODO NOTES.md"]
      pattern: '^(?P<line>\\d+):(?P<message>.*)$(?P<file>)'
"""
PROJECTS = ["platform/billing", "platform/legacy-billing", "platform/tools/billing"]


class GitLabWithGit(GitLabApi):
    """The loopback GitLab API, plus git smart HTTP for the projects under `root`."""

    def __init__(self, token: str, root: Path) -> None:
        super().__init__(token)
        self.root = root
        self.authorization = basic_auth("oauth2", token)
        self.refused = self.authorized = 0
        self.httpd.RequestHandlerClass = _ApiOrGit


class _ApiOrGit(_GitLabHandler, _GitHandler):
    def _route(self) -> None:
        if self.path.startswith("/api/v4/"):
            self._handle()
        else:
            self._cgi()

    do_GET = do_POST = do_PUT = _route


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[GitLabWithGit]:
    root = tmp_path / "served"
    for path in PROJECTS:
        seed = init_repo(
            tmp_path / "seeds" / path, {".corral.yaml": NOTES_CONFIG, "NOTES.md": "-\n"}
        )
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(seed), str(root / f"{path}.git")], check=True
        )
    server = GitLabWithGit(TOKEN, root)
    server.group_projects = PROJECTS
    yield server
    server.close()


def run_query_campaign(
    gitlab: GitLabWithGit, tmp_path: Path, token: str = TOKEN
) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        json.dumps(
            {
                "name": "notes",
                "command": "echo Reviewed. >> NOTES.md",
                "forge": "gitlab",
                "targets": {"query": {"gitlab_group": "platform"}, "exclude": ["*legacy*"]},
            }
        )
    )
    store_url = str(tmp_path / "corral.db")
    env = {**os.environ, **GIT_ENV, "GITLAB_TOKEN": token, "GITLAB_URL": gitlab.url}
    argv = [CORRAL, "run", str(spec), "--store", store_url, "--work-dir", str(tmp_path / "work")]
    return subprocess.run(
        [*argv, "--sandbox", "local", "--json"], capture_output=True, text=True, env=env
    )


def test_a_group_query_selects_the_campaigns_repositories(
    gitlab: GitLabWithGit, tmp_path: Path
) -> None:
    store_url = str(tmp_path / "corral.db")

    done = run_query_campaign(gitlab, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    store = Store.open(store_url)
    try:
        campaign = store.campaign("notes")
        assert campaign is not None
        jobs = {job.name: job for job in store.jobs(campaign.id)}
    finally:
        store.close()
    # projects of the same name in two groups are named by their paths
    assert sorted(jobs) == ["platform/billing", "platform/tools/billing"]
    assert {job.state for job in jobs.values()} == {JobState.PR_OPEN}
    assert jobs["platform/tools/billing"].repo == f"{gitlab.url}/platform/tools/billing"
    for project in ("platform/billing", "platform/tools/billing"):
        [mr] = gitlab.merge_requests[project].values()
        assert mr["source_branch"] == "corral/notes"
        pushed = git(gitlab.root / f"{project}.git", "show", "corral/notes:NOTES.md")
        assert pushed == "-\nReviewed.\n"
    assert "platform/legacy-billing" not in gitlab.merge_requests
    reported = {job["repo"]: job["pull_request"] for job in json.loads(done.stdout)["jobs"]}
    assert reported["platform/tools/billing"] == (
        f"{gitlab.url}/platform/tools/billing/-/merge_requests/1"
    )
    assert all(not e.request_violations for e in gitlab.exchanges)


def test_a_query_the_forge_refuses_stops_the_run_before_anything_starts(
    gitlab: GitLabWithGit, tmp_path: Path
) -> None:
    done = run_query_campaign(gitlab, tmp_path, token="glpat-wrongToken99")

    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "GitLab: listing the projects of platform failed: 401" in message
    assert "Traceback" not in done.stderr and "glpat-wrong" not in done.stderr
