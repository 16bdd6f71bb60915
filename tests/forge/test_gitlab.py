"""The GitLab forge against a loopback GitLab that checks every request against GitLab's
documented endpoints and parameters (no machine-readable description ships on npm or PyPI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from forge_servers import Exchange
from gitlab_api import GitLabApi

from corral.config import ConfigError
from corral.forge.base import ForgeError, PullRequestRequest, UnaskedReviewersError
from corral.forge.gitlab import GitLabForge, GitLabSettings
from corral.spec import ForgeQuery

TOKEN = "glpat-corralTestToken0123"
PROJECT = "platform/services/billing"


@pytest.fixture(scope="module")
def server() -> Iterator[GitLabApi]:
    api = GitLabApi(TOKEN)
    yield api
    api.close()


@pytest.fixture
def api(server: GitLabApi) -> GitLabApi:
    server.reset()
    server.merge_requests.clear()
    server.pipelines.clear()
    server.throttled = 0
    server.users = {}
    server.topics = {}
    return server


def make_forge(api: GitLabApi, tmp_path: Path) -> GitLabForge:
    return GitLabForge(GitLabSettings(token=TOKEN, url=api.url, seconds_between_writes=0), tmp_path)


def request(
    api: GitLabApi, *, title: str = "Bump the thing", draft: bool = False
) -> PullRequestRequest:
    return PullRequestRequest(
        campaign="bump",
        repo=f"{api.url}/{PROJECT}",
        branch="corral/bump",
        base_branch="main",
        title=title,
        body="Opened by corral.",
        draft=draft,
    )


def assert_all_valid(exchanges: list[Exchange]) -> None:
    assert exchanges, "the client made no request"
    for exchange in exchanges:
        assert exchange.request_violations == [], exchange
        assert exchange.status < 400, exchange


def test_a_merge_request_is_opened_once_then_updated(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)

    first = forge.find_or_open_pr(request(api, draft=True))
    again = forge.find_or_open_pr(request(api, title="Bump the thing, reworded"))

    exchanges = api.reset()
    assert_all_valid(exchanges)
    encoded = "/api/v4/projects/platform%2Fservices%2Fbilling/merge_requests"
    assert [e.route for e in exchanges] == [
        f"GET {encoded}", f"POST {encoded}", f"GET {encoded}", f"PUT {encoded}/1",
    ]  # fmt: skip
    assert exchanges[0].query["source_branch"] == ["corral/bump"]
    assert exchanges[0].query["state"] == ["opened"]
    assert exchanges[1].body is not None and exchanges[1].body["title"] == "Draft: Bump the thing"
    assert (first.number, again.number) == (1, 1)
    assert len(api.merge_requests[PROJECT]) == 1
    assert api.merge_requests[PROJECT][1]["title"] == "Bump the thing, reworded"
    assert again.url.endswith(f"/{PROJECT}/-/merge_requests/1")
    assert (again.state, again.branch, again.base_branch) == ("open", "corral/bump", "main")


def test_an_unchanged_merge_request_is_left_alone(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    forge.find_or_open_pr(request(api))
    api.reset()

    forge.find_or_open_pr(request(api))

    assert [e.method for e in api.reset()] == ["GET"]


def test_a_merge_request_opened_meanwhile_is_found(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    opened = {"title": "Bump the thing", "description": "Opened by corral.",
              "source_branch": "corral/bump", "target_branch": "main"}  # fmt: skip
    api.merge_request(PROJECT, opened)

    pr = forge.find_or_open_pr(request(api))

    assert pr.number == 1
    assert len(api.merge_requests[PROJECT]) == 1


def test_close_comments_then_closes(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))

    closed = forge.close_pr(pr, "The campaign was cancelled.")
    closed_again = forge.close_pr(closed, "The campaign was cancelled.")

    assert_all_valid(api.reset())
    assert (closed.state, closed_again.state) == ("closed", "closed")
    assert api.merge_requests[PROJECT][1]["notes"] == ["The campaign was cancelled."]


@pytest.mark.parametrize(
    ("pipelines", "state", "first_line"),
    [
        ([], "none", "no CI has reported"),
        ([{"status": "running", "jobs": []}], "pending", "waiting for pipeline #1"),
        ([{"status": "failed", "jobs": []}, {"status": "success", "jobs": []}],
         "passed", "1 check"),
        ([{"status": "success", "jobs": []},
          {"status": "failed", "jobs": [
              {"id": 5, "name": "unit", "stage": "test", "status": "failed",
               "failure_reason": "script_failure", "web_url": "https://ci/5"},
              {"id": 6, "name": "lint", "stage": "test", "status": "success", "web_url": "x"}]}],
         "failed", "CI failed: 1 of 1 check(s)."),
    ],
)  # fmt: skip
def test_ci_is_the_latest_pipeline_on_the_head(
    api: GitLabApi, tmp_path: Path, pipelines: list[dict[str, Any]], state: str, first_line: str
) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.pipelines[PROJECT] = [
        {"id": n, "sha": pr.head_sha, "ref": pr.branch, "web_url": f"{api.url}/p/{n}", **p}
        for n, p in enumerate(pipelines, 1)
    ]

    ci = forge.ci_status(pr)

    exchanges = api.reset()
    assert_all_valid(exchanges)
    assert ci.state == state
    assert first_line in ci.summary.splitlines()[0]
    assert ci.sha == pr.head_sha
    if state == "failed":
        assert "- test: unit failed: script_failure (https://ci/5)" in ci.summary.splitlines()
        jobs = next(e for e in exchanges if e.path.endswith("/jobs"))
        assert jobs.query["scope[]"] == ["failed"]


def test_a_group_query_lists_its_projects(api: GitLabApi, tmp_path: Path) -> None:
    api.group_projects = ["platform/billing", "platform/tools/cli"]
    forge = make_forge(api, tmp_path)

    found = forge.find_repositories(ForgeQuery(gitlab_group="platform"))

    exchanges = api.reset()
    assert_all_valid(exchanges)
    assert exchanges[0].path == "/api/v4/groups/platform/projects"
    assert exchanges[0].query["include_subgroups"] == ["true"]
    assert exchanges[0].query["archived"] == ["false"]
    assert found == [f"{api.url}/platform/billing", f"{api.url}/platform/tools/cli"]
    with pytest.raises(ConfigError, match="gitlab_group"):
        forge.find_repositories(ForgeQuery(github_org="octo"))


def test_a_group_query_keeps_the_projects_with_every_topic(api: GitLabApi, tmp_path: Path) -> None:
    api.group_projects = ["platform/billing", "platform/tools/cli", "platform/web"]
    api.topics = {"platform/billing": ["java", "payments"], "platform/web": ["java"]}
    forge = make_forge(api, tmp_path)

    found = forge.find_repositories(
        ForgeQuery(gitlab_group="platform", topics=["java", "payments"])
    )

    exchanges = api.reset()
    assert_all_valid(exchanges)
    assert exchanges[0].query["topic"] == ["java,payments"]
    assert found == [f"{api.url}/platform/billing"]


def test_labels_and_reviewers_go_on_the_merge_request(api: GitLabApi, tmp_path: Path) -> None:
    api.users = {"alice": 41, "bob": 42}
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.reset()

    labelled = forge.add_labels(pr, ["fleet", "java-21"])
    asked = forge.request_reviewers(labelled, ["alice"])
    again = forge.request_reviewers(asked, ["bob"])  # added to those already asked

    exchanges = api.reset()
    assert_all_valid(exchanges)
    mr = api.merge_requests[PROJECT][1]
    assert mr["labels"] == ["fleet", "java-21"] and labelled.labels == ("fleet", "java-21")
    assert [r["username"] for r in mr["reviewers"]] == ["alice", "bob"]
    assert again.reviewers == ("alice", "bob")
    puts = [e.body for e in exchanges if e.method == "PUT"]
    assert puts == [
        {"add_labels": "fleet,java-21"},
        {"reviewer_ids": [41]},
        {"reviewer_ids": [41, 42]},
    ]
    assert [e.query["username"] for e in exchanges if e.path.endswith("/users")] == [
        ["alice"],
        ["bob"],
    ]


def test_reviewers_gitlab_cannot_ask_are_named_after_the_others_are_asked(
    api: GitLabApi, tmp_path: Path
) -> None:
    api.users = {"alice": 41}
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))

    with pytest.raises(UnaskedReviewersError, match="ghost, platform/reviewers") as caught:
        forge.request_reviewers(pr, ["alice", "ghost", "platform/reviewers"])

    assert_all_valid(api.reset())
    assert caught.value.pr.reviewers == ("alice",)
    assert [r["username"] for r in api.merge_requests[PROJECT][1]["reviewers"]] == ["alice"]


def test_too_many_requests_are_waited_out(api: GitLabApi, tmp_path: Path) -> None:
    api.throttled = 1

    make_forge(api, tmp_path).find_or_open_pr(request(api))

    exchanges = api.reset()
    assert [e.status for e in exchanges[:2]] == [429, 200]
    assert exchanges[1].at - exchanges[0].at >= 1.0  # Retry-After was honoured


def test_errors_name_the_operation_not_the_token(api: GitLabApi, tmp_path: Path) -> None:
    forge = GitLabForge(GitLabSettings(token="glpat-wrong", url=api.url), tmp_path)

    with pytest.raises(
        ForgeError, match="GitLab: finding the merge request for corral/bump failed: 401"
    ) as caught:
        forge.find_or_open_pr(request(api))
    assert "glpat" not in str(caught.value)


def test_settings_come_from_the_environment() -> None:
    settings = GitLabSettings.from_env({"GITLAB_TOKEN": TOKEN, "GITLAB_URL": "https://git.example"})
    assert settings.url == "https://git.example"
    assert TOKEN not in repr(settings)
    with pytest.raises(ConfigError, match="GITLAB_TOKEN"):
        GitLabSettings.from_env({})


JOB_TRACE = (
    'section_start:1714557600:step_script\r\x1b[0KExecuting "step_script" stage\n'
    "$ go test ./...\n"
    "--- FAIL: TestTotal (0.00s)\n"
    "    cart_test.go:14: got 5, want 6\n"
    "FAIL\n"
    "FAIL\tgitlab.example/platform/services/billing/cart\t0.004s\n"
    "section_end:1714557601:step_script\r\x1b[0K\n"
    "ERROR: Job failed: exit code 1\n"
)


def test_a_failed_job_comes_back_with_its_trace_condensed(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.pipelines[PROJECT] = [
        {"id": 1, "sha": pr.head_sha, "ref": pr.branch, "web_url": f"{api.url}/p/1",
         "status": "failed",
         "jobs": [{"id": 9, "name": "unit", "stage": "test", "status": "failed",
                   "failure_reason": "script_failure", "web_url": "https://ci/9",
                   "trace": JOB_TRACE}]},
    ]  # fmt: skip

    ci = forge.ci_status(pr)

    exchanges = api.reset()
    assert_all_valid(exchanges)
    assert any(e.path.endswith("/jobs/9/trace") for e in exchanges)
    assert ci.state == "failed"
    assert "cart/cart_test.go:14" in ci.summary
    assert "got 5, want 6" in ci.summary
    assert ci.infrastructure is None


def test_a_runner_system_failure_is_the_infrastructures(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.pipelines[PROJECT] = [
        {"id": 1, "sha": pr.head_sha, "ref": pr.branch, "web_url": f"{api.url}/p/1",
         "status": "failed",
         "jobs": [{"id": 9, "name": "unit", "stage": "test", "status": "failed",
                   "failure_reason": "runner_system_failure", "web_url": "https://ci/9",
                   "trace": "Preparing the docker executor\nERROR: Job failed (system failure)"}]},
    ]  # fmt: skip

    ci = forge.ci_status(pr)

    assert ci.state == "failed"
    assert ci.infrastructure is not None and "runner failed" in ci.infrastructure


def test_failed_jobs_are_retried_and_a_comment_is_a_note(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.pipelines[PROJECT] = [
        {"id": 1, "sha": pr.head_sha, "ref": pr.branch, "web_url": f"{api.url}/p/1",
         "status": "failed",
         "jobs": [{"id": 9, "name": "unit", "stage": "test", "status": "failed",
                   "failure_reason": "script_failure", "web_url": "https://ci/9"},
                  {"id": 10, "name": "lint", "stage": "test", "status": "success",
                   "web_url": "https://ci/10"}]},
    ]  # fmt: skip

    retried = forge.rerun_ci(pr)
    forge.comment(pr, "corral: CI failed, then passed when re-run: a flaky failure.")
    after = forge.ci_status(pr)

    exchanges = api.reset()
    assert_all_valid(exchanges)
    assert retried
    retries = [e.path for e in exchanges if e.method == "POST" and e.path.endswith("/retry")]
    assert [r.rsplit("/", 3)[1:] for r in retries] == [["jobs", "9", "retry"]]
    assert after.state == "pending"
    (mr,) = api.merge_requests[PROJECT].values()
    assert mr["notes"] == ["corral: CI failed, then passed when re-run: a flaky failure."]


def test_base_ci_is_the_base_branchs_latest_pipeline(api: GitLabApi, tmp_path: Path) -> None:
    forge = make_forge(api, tmp_path)
    pr = forge.find_or_open_pr(request(api))
    api.pipelines[PROJECT] = [
        {"id": 1, "sha": "b" * 40, "ref": "main", "web_url": f"{api.url}/p/1", "status": "failed",
         "jobs": [{"id": 3, "name": "unit", "stage": "test", "status": "failed",
                   "failure_reason": "script_failure", "web_url": "https://ci/3",
                   "trace": JOB_TRACE}]},
        {"id": 2, "sha": pr.head_sha, "ref": pr.branch, "web_url": f"{api.url}/p/2",
         "status": "success", "jobs": []},
    ]  # fmt: skip

    base = forge.base_ci_status(pr)

    assert_all_valid(api.reset())
    assert base.state == "failed" and base.sha == "b" * 40
    assert "cart_test.go:14" in base.summary
