"""The GitHub forge against Prism serving GitHub's published OpenAPI description.

Prism (`--errors`) refuses any request that breaks the description, and the recording front
keeps its verdict on each one, so every test also asserts that each request validated. Prism's
data is built from the schemas, not from a real repository: the tests check that the client
copes with the shapes, and the pull-request lifecycle itself is tested on the local forge.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from forge_servers import (
    OCTOKIT_OPENAPI_VERSION,
    PRISM_VERSION,
    Exchange,
    LoopbackServer,
    Recorder,
    Scripted,
    cut_description,
    install_npm_tools,
    prism,
)

from corral.config import ConfigError
from corral.forge.base import ForgeError, PullRequest, PullRequestRequest
from corral.forge.github import GitHubForge, GitHubSettings
from corral.spec import ForgeQuery

WEB = "https://github.example"
REPO = f"{WEB}/octo/hello"
TOKEN = "ghp_corralTestToken0123456789"
PULLS = r"/repos/octo/hello/pulls"
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


GITHUB_OPERATIONS = {
    "/repos/{owner}/{repo}/pulls": {"get", "post"},
    "/repos/{owner}/{repo}/pulls/{pull_number}": {"get", "patch"},
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": {"post"},
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": {"post"},
    "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": {"post"},
    "/repos/{owner}/{repo}/commits/{ref}/check-runs": {"get"},
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations": {"get"},
    "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs": {"get"},
    "/repos/{owner}/{repo}/actions/jobs/{job_id}/rerun": {"post"},
    "/repos/{owner}/{repo}/commits/{ref}/status": {"get"},
    "/orgs/{org}/repos": {"get"},
    "/search/repositories": {"get"},
    "/search/code": {"get"},
}
"""Every GitHub operation the forge calls; a call to any other is refused (404) and fails."""


@pytest.fixture(scope="module")
def npm_tools() -> Path:
    root = Path(os.environ.get("CORRAL_NPM_TOOLS", Path.home() / ".cache" / "corral" / "npm-tools"))
    install_npm_tools(
        root,
        {"@stoplight/prism-cli": PRISM_VERSION, "@octokit/openapi": OCTOKIT_OPENAPI_VERSION},
    )
    return root


@pytest.fixture(scope="module")
def github_api(npm_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorder]:
    """A recording front for Prism serving GitHub's description (api.github.com)."""
    published = npm_tools / "node_modules/@octokit/openapi/generated/api.github.com.json"
    description = tmp_path_factory.mktemp("github-api") / "api.github.com.json"
    cut = cut_description(json.loads(published.read_text()), GITHUB_OPERATIONS)
    description.write_text(json.dumps(cut))
    with prism(npm_tools, description) as url:
        front = Recorder(url)
        try:
            yield front
        finally:
            front.close()


@pytest.fixture
def recorder(github_api: Recorder) -> Iterator[Recorder]:
    """The GitHub front with no history and no script left over from another test."""
    github_api.reset()
    yield github_api
    github_api.reset()


def make_forge(recorder: Recorder, tmp_path: Path, **settings: float) -> GitHubForge:
    defaults: dict[str, float] = {
        "seconds_between_writes": 0.0,
        "max_retries": 3,
        "secondary_rate_wait_s": 1.0,
    }
    return GitHubForge(
        GitHubSettings(token=TOKEN, api_url=recorder.url, web_url=WEB, **{**defaults, **settings}),  # type: ignore[arg-type]
        tmp_path,
    )


def request(branch: str = "corral/bump", title: str = "Bump the thing") -> PullRequestRequest:
    return PullRequestRequest(
        campaign="bump",
        repo=REPO,
        branch=branch,
        base_branch="main",
        title=title,
        body="Opened by corral.",
        draft=True,
        head_sha="0" * 40,
    )


def assert_all_valid(exchanges: list[Exchange]) -> None:
    assert exchanges, "the client made no request"
    for exchange in exchanges:
        assert exchange.request_violations == [], exchange
        assert exchange.answered_by_front or exchange.status < 400, exchange


def routes(exchanges: list[Exchange]) -> list[str]:
    return [e.route for e in exchanges]


def test_the_whole_lifecycle_speaks_githubs_api(recorder: Recorder, tmp_path: Path) -> None:
    def still_open(body: dict[str, object]) -> dict[str, object]:
        return {**body, "state": "open", "merged": False}

    recorder.play(*[Scripted("GET", rf"{PULLS}/\d+", forward=True, edit=still_open)] * 2)
    forge = make_forge(recorder, tmp_path)

    pr = forge.find_or_open_pr(request())
    refreshed = forge.refresh_pr(pr)
    ci = forge.ci_status(refreshed)
    closed = forge.close_pr(refreshed, "The campaign was cancelled.")

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert routes(exchanges)[0] == f"GET {PULLS}"
    assert exchanges[0].query["head"] == ["octo:corral/bump"]  # the campaign's own branch
    assert exchanges[0].query["state"] == ["open"]
    # Prism lists one open PR whose title differs: it is updated, not opened again
    assert not any(e.route == f"POST {PULLS}" for e in exchanges)
    patches = [e.body for e in exchanges if e.method == "PATCH"]
    assert patches == [
        {"title": "Bump the thing", "body": "Opened by corral.", "base": "main"},
        {"state": "closed"},
    ]
    comments = [e for e in exchanges if e.method == "POST"]
    assert [c.body for c in comments] == [{"body": "The campaign was cancelled."}]
    assert comments[0].path.endswith("/comments")
    assert refreshed.state == "open"
    assert any(e.path.endswith("/check-runs") for e in exchanges)
    assert any(e.path.endswith("/status") for e in exchanges)
    for result in (pr, refreshed, closed):
        assert isinstance(result, PullRequest)
        assert result.forge == "github"
        assert result.repo == REPO
        assert result.number > 0
        assert result.url
        assert result.state in ("open", "merged", "closed")
    assert ci.state in ("pending", "passed", "failed", "none")


def test_opens_a_pull_request_when_none_is_open(recorder: Recorder, tmp_path: Path) -> None:
    recorder.play(Scripted("GET", PULLS, forward=True, edit=lambda body: []))

    pr = forge_open(recorder, tmp_path)

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert routes(exchanges) == [f"GET {PULLS}", f"POST {PULLS}"]
    assert exchanges[1].body == {
        "title": "Bump the thing",
        "body": "Opened by corral.",
        "head": "corral/bump",
        "base": "main",
        "draft": True,
        "maintainer_can_modify": True,
    }
    assert pr.number > 0 and pr.title == "Bump the thing"


def forge_open(recorder: Recorder, tmp_path: Path) -> PullRequest:
    return make_forge(recorder, tmp_path).find_or_open_pr(request())


def test_a_pull_request_opened_meanwhile_is_found_not_doubled(
    recorder: Recorder, tmp_path: Path
) -> None:
    already = {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom",
                    "message": "A pull request already exists for octo:corral/bump."}],
    }  # fmt: skip
    recorder.play(
        Scripted("GET", PULLS, forward=True, edit=lambda body: []),
        Scripted("POST", PULLS, status=422, body=already),
    )

    pr = forge_open(recorder, tmp_path)

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert routes(exchanges) == [f"GET {PULLS}", f"POST {PULLS}", f"GET {PULLS}"]
    assert pr.number > 0


def test_a_refused_pull_request_is_a_clear_error(recorder: Recorder, tmp_path: Path) -> None:
    refused = {"message": "Validation Failed", "errors": [{"code": "invalid", "field": "base"}]}
    recorder.play(
        Scripted("GET", PULLS, forward=True, edit=lambda body: []),
        Scripted("POST", PULLS, status=422, body=refused),
        Scripted("GET", PULLS, forward=True, edit=lambda body: []),
    )

    with pytest.raises(ForgeError, match="opening a pull request for corral/bump failed: 422"):
        forge_open(recorder, tmp_path)


def test_failed_checks_come_back_condensed_with_annotations(
    recorder: Recorder, tmp_path: Path
) -> None:
    def one_failed_run(body: dict[str, object]) -> dict[str, object]:
        runs: list[dict[str, object]] = body["check_runs"]  # type: ignore[assignment]
        runs[0].update(status="completed", conclusion="failure", name="unit tests")
        runs[0]["output"] = {**runs[0]["output"], "title": "2 tests failed"}  # type: ignore[dict-item]
        return {**body, "check_runs": runs[:1], "total_count": 1}

    def failures(body: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{**a, "annotation_level": "failure", "path": "src/app.py", "start_line": 12,
                 "message": "AssertionError: expected 3"} for a in body]  # fmt: skip

    def no_statuses(body: dict[str, object]) -> dict[str, object]:
        return {**body, "statuses": []}

    recorder.play(
        Scripted("GET", r".*/commits/[^/]+/check-runs", forward=True, edit=one_failed_run),
        Scripted("GET", r".*/check-runs/\d+/annotations", forward=True, edit=failures),
        Scripted("GET", r".*/commits/[^/]+/status", forward=True, edit=no_statuses),
    )
    forge = make_forge(recorder, tmp_path)
    pr = forge.find_or_open_pr(request())

    ci = forge.ci_status(pr)

    assert_all_valid(recorder.reset())
    assert ci.state == "failed"
    lines = ci.summary.splitlines()
    assert lines[1].startswith("- unit tests failed: 2 tests failed")
    assert "  - src/app.py:12: AssertionError: expected 3" in lines


def test_passing_checks_and_statuses_pass(recorder: Recorder, tmp_path: Path) -> None:
    def all_green(body: dict[str, object]) -> dict[str, object]:
        runs: list[dict[str, object]] = body["check_runs"]  # type: ignore[assignment]
        for run in runs:
            run.update(status="completed", conclusion="success")
        return body

    def green_statuses(body: dict[str, object]) -> dict[str, object]:
        statuses: list[dict[str, object]] = body["statuses"]  # type: ignore[assignment]
        return {
            **body,
            "state": "success",
            "statuses": [{**s, "state": "success"} for s in statuses],
        }

    recorder.play(
        Scripted("GET", r".*/check-runs", forward=True, edit=all_green),
        Scripted("GET", r".*/commits/[^/]+/status", forward=True, edit=green_statuses),
    )
    forge = make_forge(recorder, tmp_path)

    ci = forge.ci_status(forge.find_or_open_pr(request()))

    assert_all_valid(recorder.reset())
    assert ci.state == "passed"


def test_forge_queries_find_repositories(recorder: Recorder, tmp_path: Path) -> None:
    forge = make_forge(recorder, tmp_path)

    by_topic = forge.find_repositories(ForgeQuery(github_topic="java-services"))
    by_code = forge.find_repositories(ForgeQuery(github_code_search="log4j in:file language:xml"))
    forge.find_repositories(ForgeQuery(github_org="octo"))

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert [e.path for e in exchanges] == [
        "/search/repositories",
        "/search/code",
        "/orgs/octo/repos",
    ]
    assert exchanges[0].query["q"] == ["topic:java-services archived:false"]
    assert all(url.startswith(f"{WEB}/") for url in by_topic + by_code)
    assert by_topic and by_code
    with pytest.raises(ConfigError, match="GitLab group"):
        forge.find_repositories(ForgeQuery(gitlab_group="platform"))


def test_language_and_topics_filter_what_a_query_finds(recorder: Recorder, tmp_path: Path) -> None:
    def three_repos(body: list[dict[str, object]]) -> list[dict[str, object]]:
        one = body[0]
        return [
            {**one, "full_name": "octo/billing", "archived": False, "language": "Java",
             "topics": ["payments", "jvm"]},
            {**one, "full_name": "octo/web", "archived": False, "language": "TypeScript",
             "topics": ["payments"]},
            {**one, "full_name": "octo/ledger", "archived": False, "language": "java",
             "topics": ["jvm"]},
        ]  # fmt: skip

    recorder.play(Scripted("GET", "/orgs/octo/repos", forward=True, edit=three_repos))
    forge = make_forge(recorder, tmp_path)

    found = forge.find_repositories(
        ForgeQuery(github_org="octo", language="JAVA", topics=["payments"])
    )
    forge.find_repositories(ForgeQuery(github_topic="jvm", language="Java", topics=["payments"]))

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert found == [f"{WEB}/octo/billing"]
    assert exchanges[1].query["q"] == ["topic:jvm topic:payments language:Java archived:false"]


def test_labels_and_reviewers_go_on_the_pull_request(recorder: Recorder, tmp_path: Path) -> None:
    forge = make_forge(recorder, tmp_path)
    pr = forge.find_or_open_pr(request())
    recorder.reset()

    labelled = forge.add_labels(pr, ["fleet", "java-21"])
    asked = forge.request_reviewers(labelled, ["alice", "octo/platform-team"])

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert [(e.route, e.body) for e in exchanges] == [
        (f"POST /repos/octo/hello/issues/{pr.number}/labels", {"labels": ["fleet", "java-21"]}),
        (
            f"POST {PULLS}/{pr.number}/requested_reviewers",
            {"reviewers": ["alice"], "team_reviewers": ["platform-team"]},
        ),
    ]
    assert asked.reviewers == ("alice", "octo/platform-team")
    assert asked.labels  # as GitHub answered (Prism's data)


def test_a_refused_reviewer_is_a_clear_error(recorder: Recorder, tmp_path: Path) -> None:
    refused = {"message": "Reviews may only be requested from collaborators."}
    recorder.play(Scripted("POST", rf"{PULLS}/\d+/requested_reviewers", status=422, body=refused))
    forge = make_forge(recorder, tmp_path)
    pr = forge.find_or_open_pr(request())

    with pytest.raises(ForgeError, match=r"requesting reviewers .* 422 .*collaborators"):
        forge.request_reviewers(pr, ["mallory"])


def test_secondary_rate_limit_is_waited_out(recorder: Recorder, tmp_path: Path) -> None:
    recorder.play(Scripted("GET", PULLS, status=403, headers={"Retry-After": "1"},
                           body={"message": SECONDARY}))  # fmt: skip

    forge_open(recorder, tmp_path)

    exchanges = recorder.reset()
    assert routes(exchanges)[:2] == [f"GET {PULLS}", f"GET {PULLS}"]
    assert [e.status for e in exchanges[:2]] == [403, 200]
    assert exchanges[1].at - exchanges[0].at >= 1.0  # Retry-After was honoured
    assert_all_valid(exchanges)


def test_secondary_rate_limit_without_retry_after_backs_off(
    recorder: Recorder, tmp_path: Path
) -> None:
    recorder.play(Scripted("GET", PULLS, status=403, body={"message": SECONDARY}))

    forge_open(recorder, tmp_path)

    exchanges = recorder.reset()
    assert [e.status for e in exchanges[:2]] == [403, 200]
    assert exchanges[1].at - exchanges[0].at >= 1.0  # secondary_rate_wait_s


def test_spent_primary_rate_limit_waits_for_the_reset(recorder: Recorder, tmp_path: Path) -> None:
    reset = int(time.time()) + 1
    spent = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    recorder.play(Scripted("GET", PULLS, forward=True, headers=spent))
    forge = make_forge(recorder, tmp_path)
    pr = forge.find_or_open_pr(request())

    forge.refresh_pr(pr)  # waits: the last answer said no request is left until `reset`

    exchanges = recorder.reset()
    assert exchanges[-1].route.startswith("GET /repos/octo/hello/pulls/")
    assert time.time() >= reset + 1
    assert_all_valid(exchanges)


def test_primary_rate_limit_error_is_retried_after_the_reset(
    recorder: Recorder, tmp_path: Path
) -> None:
    reset = int(time.time()) + 1
    recorder.play(
        Scripted("GET", PULLS, status=403,
                 headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                 body={"message": "API rate limit exceeded for user ID 1."}),
    )  # fmt: skip

    forge_open(recorder, tmp_path)

    exchanges = recorder.reset()
    assert [e.status for e in exchanges[:2]] == [403, 200]
    assert exchanges[1].at - exchanges[0].at >= 1.0


def test_a_reset_beyond_the_longest_wait_fails_the_step(recorder: Recorder, tmp_path: Path) -> None:
    far = str(int(time.time()) + 7200)
    recorder.play(
        Scripted("GET", PULLS, status=403,
                 headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": far},
                 body={"message": "API rate limit exceeded for user ID 1."}),
    )  # fmt: skip
    forge = make_forge(recorder, tmp_path, max_rate_limit_wait_s=60.0)

    with pytest.raises(ForgeError, match=r"GitHub: finding the pull request .* 403") as caught:
        forge.find_or_open_pr(request())
    assert TOKEN not in str(caught.value)
    assert len(recorder.reset()) == 1


def test_pull_requests_are_opened_one_at_a_time_at_a_pace(
    recorder: Recorder, tmp_path: Path
) -> None:
    recorder.play(*[Scripted("GET", PULLS, forward=True, edit=lambda body: [])] * 3)
    forge = make_forge(recorder, tmp_path, seconds_between_writes=0.5)
    workers = [
        threading.Thread(target=forge.find_or_open_pr, args=(request(f"corral/bump-{n}"),))
        for n in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    opened = [e for e in recorder.reset() if e.route == f"POST {PULLS}"]
    assert len(opened) == 3
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(opened)]
    assert all(gap >= 0.5 for gap in gaps), gaps


@pytest.mark.parametrize(
    ("repo", "reason"),
    [
        ("https://gitlab.example/octo/hello", "not a repository on https://github.example"),
        (f"https://x:{TOKEN}@github.example/octo/hello", "must not carry credentials"),
        (f"{WEB}/octo", "does not name a repository"),
        ("/srv/repos/hello", "not a repository on"),
    ],
)
def test_targets_off_the_forge_are_refused(
    recorder: Recorder, tmp_path: Path, repo: str, reason: str
) -> None:
    forge = make_forge(recorder, tmp_path)

    with pytest.raises(ForgeError, match=reason) as caught:
        forge.checkout(repo, tmp_path / "checkout")
    assert TOKEN not in str(caught.value)
    assert recorder.reset() == []


def test_settings_come_from_the_environment() -> None:
    settings = GitHubSettings.from_env(
        {"GH_TOKEN": TOKEN, "GITHUB_API_URL": "https://ghe.example/api/v3",
         "GITHUB_SERVER_URL": "https://ghe.example"}
    )  # fmt: skip
    assert (settings.api_url, settings.web_url) == (
        "https://ghe.example/api/v3",
        "https://ghe.example",
    )
    assert TOKEN not in repr(settings)
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        GitHubSettings.from_env({})


def no_statuses(body: dict[str, object]) -> dict[str, object]:
    return {**body, "statuses": []}


class _LogHandler(BaseHTTPRequestHandler):
    """The short-lived download URL a job log's redirect points at."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data = self.server.owner.log  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LogServer(LoopbackServer):
    def __init__(self, log: bytes) -> None:
        self.log = log
        super().__init__(_LogHandler)


ACTIONS_LOG = (
    b"2024-05-01T10:00:00.1234567Z ##[group]Run pytest\n"
    b"2024-05-01T10:00:01.1234567Z ______________________________ test_total ______________"
    b"________________\n"
    b"2024-05-01T10:00:01.2234567Z E       assert 5 == 6\n"
    b"2024-05-01T10:00:01.3234567Z tests/test_cart.py:9: AssertionError\n"
    b"2024-05-01T10:00:01.4234567Z FAILED tests/test_cart.py::test_total - assert 5 == 6\n"
    b"2024-05-01T10:00:02.1234567Z ##[error]Process completed with exit code 1.\n"
)


def test_a_failed_actions_job_comes_back_with_its_log_condensed(
    recorder: Recorder, tmp_path: Path
) -> None:
    """A check that only CI runs, with no annotation: the evidence is in the job's log."""
    downloads = LogServer(ACTIONS_LOG)

    def one_failed_job(body: dict[str, object]) -> dict[str, object]:
        runs: list[dict[str, object]] = body["check_runs"]  # type: ignore[assignment]
        runs[0].update(status="completed", conclusion="failure", name="test (3.12)", id=4242)
        runs[0]["app"] = {**runs[0]["app"], "slug": "github-actions"}  # type: ignore[dict-item]
        return {**body, "check_runs": runs[:1], "total_count": 1}

    recorder.play(
        Scripted("GET", r".*/commits/[^/]+/check-runs", forward=True, edit=one_failed_job),
        Scripted("GET", r".*/check-runs/\d+/annotations", forward=True, edit=lambda body: []),
        Scripted(
            "GET",
            r"/repos/octo/hello/actions/jobs/4242/logs",
            forward=True,
            headers={"Location": f"{downloads.url}/job-logs/4242.txt"},
        ),
        Scripted(
            "GET", r".*/commits/[^/]+/status", forward=True, edit=lambda b: {**b, "statuses": []}
        ),
    )
    forge = make_forge(recorder, tmp_path)
    try:
        ci = forge.ci_status(forge.find_or_open_pr(request()))
    finally:
        downloads.close()

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert any(e.path.endswith("/actions/jobs/4242/logs") for e in exchanges)
    assert ci.state == "failed"
    assert "- test (3.12) failed" in ci.summary
    assert "tests/test_cart.py:9" in ci.summary
    assert "assert 5 == 6" in ci.summary
    assert ci.infrastructure is None


def test_failed_actions_jobs_are_rerun_and_a_comment_is_posted(
    recorder: Recorder, tmp_path: Path
) -> None:
    def failed_job_and_other_app(body: dict[str, object]) -> dict[str, object]:
        runs: list[dict[str, object]] = body["check_runs"]  # type: ignore[assignment]
        job, other = runs[0], {**runs[0], "id": 77}
        job.update(status="completed", conclusion="failure", id=4242)
        job["app"] = {**job["app"], "slug": "github-actions"}  # type: ignore[dict-item]
        other.update(status="completed", conclusion="failure")
        other["app"] = {**other["app"], "slug": "some-other-ci"}  # type: ignore[dict-item]
        return {**body, "check_runs": [job, other], "total_count": 2}

    recorder.play(
        Scripted("GET", r".*/commits/[^/]+/check-runs", forward=True, edit=failed_job_and_other_app)
    )
    forge = make_forge(recorder, tmp_path)
    pr = forge.find_or_open_pr(request())

    rerun = forge.rerun_ci(pr)
    forge.comment(pr, "corral: CI failed for a reason outside this change.")

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert rerun
    posts = [e.path for e in exchanges if e.method == "POST"]
    assert "/repos/octo/hello/actions/jobs/4242/rerun" in posts
    assert not any("/jobs/77/" in p for p in posts)  # another app's check cannot be re-run
    assert any(p.endswith("/comments") for p in posts)


def test_base_ci_reads_the_base_branchs_checks(recorder: Recorder, tmp_path: Path) -> None:
    def one_failed_run(body: dict[str, object]) -> dict[str, object]:
        runs: list[dict[str, object]] = body["check_runs"]  # type: ignore[assignment]
        runs[0].update(status="completed", conclusion="failure", name="lint")
        return {**body, "check_runs": runs[:1], "total_count": 1}

    recorder.play(
        Scripted("GET", r".*/commits/[^/]+/check-runs", forward=True, edit=one_failed_run),
        Scripted("GET", r".*/check-runs/\d+/annotations", forward=True, edit=lambda body: []),
        Scripted("GET", r".*/commits/[^/]+/status", forward=True, edit=no_statuses),
    )
    forge = make_forge(recorder, tmp_path)

    pr = forge.find_or_open_pr(request()).with_changes(base_branch="main", head_sha="f" * 40)
    base = forge.base_ci_status(pr)

    exchanges = recorder.reset()
    assert_all_valid(exchanges)
    assert any(e.path.endswith("/commits/main/check-runs") for e in exchanges)
    assert not any("/commits/ffff" in e.path for e in exchanges)
    assert base.state == "failed" and "- lint failed" in base.summary
