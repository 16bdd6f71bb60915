"""The GitHub forge (REST, through PyGithub): repositories are `https://github.com/owner/name`.

Rate limits: PyGithub's `GithubRetry` waits out primary limits until `X-RateLimit-Reset` and
secondary ones for `Retry-After` (or `secondary_rate_wait_s`), with backoff on 5xx and 429;
before each call the forge also waits when the last response said no request is left.
Writes go one at a time, a second apart (GitHub's guidance), across all of the campaign's
workers. The token comes from `GITHUB_TOKEN` (or `GH_TOKEN`); see hosted.py for how git gets it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests
from github import Auth, Github, GithubException, GithubRetry, UnknownObjectException
from github.CheckRun import CheckRun
from github.PullRequest import PullRequest as GhPullRequest
from github.Repository import Repository
from requests import RequestException

from corral.config import ConfigError
from corral.forge.base import (
    CIStatus,
    ForgeError,
    PullRequest,
    PullRequestRequest,
    PullRequestState,
)
from corral.forge.hosted import (
    MAX_LOG_BYTES,
    MAX_LOGGED_CHECKS,
    CheckState,
    CICheck,
    HostedForge,
    RemoteRepo,
    combine_checks,
    condensed_log,
    one_line,
)
from corral.spec import ForgeQuery

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
STATUS_STATES: dict[str, CheckState] = {
    "success": "passed",
    "pending": "pending",
    "failure": "failed",
    "error": "failed",
}
MAX_ANNOTATED_RUNS = 5
ACTIONS_APP = "github-actions"
"""The app behind check runs that are GitHub Actions jobs (a job's id is its check run's)."""


@dataclass(frozen=True)
class GitHubSettings:
    token: str = field(repr=False)
    api_url: str = "https://api.github.com"
    web_url: str = "https://github.com"
    """Where repositories are cloned from; target URLs must be on this host."""
    seconds_between_writes: float = 1.0
    """The pace of pull-request creation and other writes, across all workers."""
    seconds_between_requests: float = 0.0
    max_retries: int = 10
    secondary_rate_wait_s: float = 60.0
    max_rate_limit_wait_s: float = 3600.0
    """A limit that resets later than this fails the step instead of waiting."""
    timeout_s: int = 30
    connect_retries: int = 1
    """Retries of a connection that fails: an unreachable API is an error in seconds, not
    after max_retries backoffs."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GitHubSettings:
        """`GITHUB_TOKEN` (or `GH_TOKEN`); `GITHUB_API_URL` and `GITHUB_SERVER_URL` for
        GitHub Enterprise (the names GitHub Actions uses)."""
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
        if not token:
            raise ConfigError("forge: github needs a token in GITHUB_TOKEN (or GH_TOKEN)")
        return cls(
            token=token,
            api_url=env.get("GITHUB_API_URL") or cls.api_url,
            web_url=env.get("GITHUB_SERVER_URL") or cls.web_url,
        )


class GitHubForge(HostedForge):
    name = "github"

    def __init__(self, settings: GitHubSettings, work_dir: Path) -> None:
        super().__init__(
            settings.web_url,
            "x-access-token",
            settings.token,
            settings.seconds_between_writes,
            work_dir,
        )
        self.settings = settings
        self._gh = Github(
            auth=Auth.Token(settings.token),
            base_url=settings.api_url,
            timeout=settings.timeout_s,
            per_page=100,
            lazy=True,
            retry=GithubRetry(
                total=settings.max_retries,
                connect=settings.connect_retries,
                backoff_factor=1.0,
                secondary_rate_wait=settings.secondary_rate_wait_s,
                max_rate_limit_wait=settings.max_rate_limit_wait_s,
                status_forcelist=[*range(500, 600), 429],
            ),
            seconds_between_requests=settings.seconds_between_requests or None,
            seconds_between_writes=None,  # paced by self._writes, which holds across threads
        )

    # pull requests

    def find_or_open_pr(self, request: PullRequestRequest) -> PullRequest:
        remote = self._remote(request.repo)
        repository = self._repository(remote)
        with self._api(f"finding the pull request for {request.branch}"):
            found = next(iter(self._open_prs(repository, remote, request.branch)), None)
        if found is None:
            found = self._open(repository, remote, request)
        elif (found.title, found.body or "", found.base.ref) != (
            request.title,
            request.body,
            request.base_branch,
        ):
            with self._writes.slot(), self._api(f"updating pull request #{found.number}"):
                found.edit(title=request.title, body=request.body, base=request.base_branch)
        return self._record(
            request.repo, found, title=request.title, body=request.body, state="open"
        )

    def refresh_pr(self, pr: PullRequest) -> PullRequest:
        with self._api(f"reading pull request #{pr.number}"):
            current = self._repository(self._remote(pr.repo)).get_pull(pr.number)
            return self._record(pr.repo, current, title=pr.title, body=pr.body).with_changes(
                ci=pr.ci, labels=pr.labels, reviewers=pr.reviewers
            )

    def close_pr(self, pr: PullRequest, comment: str) -> PullRequest:
        with self._api(f"closing pull request #{pr.number}"):
            current = self._repository(self._remote(pr.repo)).get_pull(pr.number)
            if current.state == "open" and not current.merged:
                with self._writes.slot():
                    current.create_issue_comment(comment)
                with self._writes.slot():
                    current.edit(state="closed")
            return self.refresh_pr(pr)

    def delete_branch(self, pr: PullRequest) -> None:
        with self._api(f"deleting branch {pr.branch}"):
            repository = self._repository(self._remote(pr.repo))
            try:
                ref = repository.get_git_ref(f"heads/{pr.branch}")
            except UnknownObjectException:
                return
            with self._writes.slot():
                ref.delete()

    def ci_status(self, pr: PullRequest) -> CIStatus:
        """Check runs and commit statuses on the PR's head commit, failing runs with their
        annotations (file, line, message)."""
        return self._ci(pr.repo, pr.head_sha or f"refs/heads/{pr.branch}", pr.head_sha)

    def base_ci_status(self, pr: PullRequest) -> CIStatus:
        return self._ci(pr.repo, pr.base_branch, "")

    def _ci(self, repo: str, ref: str, sha: str) -> CIStatus:
        with self._api(f"reading CI of {ref[:40]}"):
            repository = self._repository(self._remote(repo))
            commit = repository.get_commit(ref)
            runs = list(commit.get_check_runs())
            failing = {r.id for r in runs if _run_state(r) == "failed"}
            annotated = set(sorted(failing)[:MAX_ANNOTATED_RUNS])
            checks = [_check_run(run, annotate=run.id in annotated) for run in runs]
            jobs = [r for r in runs if r.id in failing and _actions_job(r)][:MAX_LOGGED_CHECKS]
            logged = {run.id: self._job_log(repository, run.id) for run in jobs}
            checks = [
                _with_log(check, logged[run.id]) if run.id in logged else check
                for run, check in zip(runs, checks, strict=True)
            ]
            combined = commit.get_combined_status()
            checks += [
                CICheck(
                    name=status.context,
                    state=STATUS_STATES.get(status.state, "failed"),
                    detail=one_line(status.description),
                    url=status.target_url,
                )
                for status in combined.statuses
            ]
            return combine_checks(checks, sha or combined.sha)

    def rerun_ci(self, pr: PullRequest) -> bool:
        """Re-run the head commit's failed Actions jobs (other apps' checks cannot be)."""
        with self._api(f"re-running CI of {pr.head_sha[:12] or pr.branch}"):
            repository = self._repository(self._remote(pr.repo))
            commit = repository.get_commit(pr.head_sha or f"refs/heads/{pr.branch}")
            jobs = [
                r for r in commit.get_check_runs() if _run_state(r) == "failed" and _actions_job(r)
            ]
            for run in jobs:
                with self._writes.slot():
                    self._gh.requester.requestJsonAndCheck(
                        "POST", f"{repository.url}/actions/jobs/{run.id}/rerun"
                    )
        return bool(jobs)

    def comment(self, pr: PullRequest, text: str) -> None:
        with self._api(f"commenting on pull request #{pr.number}"):
            current = self._repository(self._remote(pr.repo)).get_pull(pr.number)
            with self._writes.slot():
                current.create_issue_comment(text)

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> PullRequest:
        """Labels through the issues API (a pull request is an issue); GitHub creates a
        label the repository lacks."""
        with self._api(f"labelling pull request #{pr.number}"):
            repository = self._repository(self._remote(pr.repo))
            with self._writes.slot():
                _, data = self._gh.requester.requestJsonAndCheck(
                    "POST",
                    f"{repository.url}/issues/{pr.number}/labels",
                    input={"labels": list(labels)},
                )
        names = [str(label.get("name")) for label in data or [] if isinstance(label, dict)]
        return pr.with_changes(labels=tuple(names) or tuple(labels))

    def request_reviewers(self, pr: PullRequest, reviewers: Sequence[str]) -> PullRequest:
        """Users and teams (`org/team`: the team's slug) as requested reviewers."""
        users = [r for r in reviewers if "/" not in r]
        teams = [r.rsplit("/", 1)[1] for r in reviewers if "/" in r]
        with self._api(f"requesting reviewers on pull request #{pr.number}"):
            repository = self._repository(self._remote(pr.repo))
            with self._writes.slot():
                self._gh.requester.requestJsonAndCheck(
                    "POST",
                    f"{repository.url}/pulls/{pr.number}/requested_reviewers",
                    input={"reviewers": users, "team_reviewers": teams},
                )
        return pr.with_changes(reviewers=tuple(dict.fromkeys([*pr.reviewers, *reviewers])))

    def _job_log(self, repository: Repository, job_id: int) -> bytes | None:
        """An Actions job's log: the API answers with a redirect to a short-lived download
        URL. None when the log is gone (expired, or the job was deleted)."""
        try:
            headers, _ = self._gh.requester.requestBlobAndCheck(
                "GET", f"{repository.url}/actions/jobs/{job_id}/logs"
            )
        except GithubException as exc:
            if exc.status in (404, 410):
                return None
            raise
        location = headers.get("location")
        if not location:
            return None
        with requests.get(location, timeout=self.settings.timeout_s, stream=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            for chunk in response.iter_content(1 << 16):
                chunks.append(chunk)
                if sum(map(len, chunks)) > 2 * MAX_LOG_BYTES:
                    chunks = [b"".join(chunks)[-MAX_LOG_BYTES:]]
            return b"".join(chunks)

    # targets

    def find_repositories(self, query: ForgeQuery) -> list[str]:
        """The URLs of the repositories a spec's forge query selects (archived ones left out,
        as they cannot take a pull request)."""
        with self._api("searching repositories"):
            if query.github_org is not None:
                found = self._gh.get_organization(query.github_org).get_repos(type="all")
                names = [r.full_name for r in found if not r.archived and _kept(r, query)]
            elif query.github_topic is not None:
                words = [f"topic:{t}" for t in [query.github_topic, *query.topics]]
                words += [f"language:{query.language}"] if query.language else []
                search = " ".join([*words, "archived:false"])
                names = [
                    r.full_name
                    for r in self._gh.search_repositories(query=search)
                    if _kept(r, query)
                ]
            elif query.github_code_search is not None:
                hits = self._gh.search_code(query=query.github_code_search)
                names = list(dict.fromkeys(hit.repository.full_name for hit in hits))
            else:
                raise ConfigError("targets.query: the github forge cannot search a GitLab group")
        return [self._repo_url(name) for name in names]

    # helpers

    def _repository(self, remote: RemoteRepo) -> Repository:
        return self._gh.get_repo(remote.path)

    def _open_prs(
        self, repository: Repository, remote: RemoteRepo, branch: str
    ) -> Iterator[GhPullRequest]:
        self._wait_for_rate_limit()
        return iter(repository.get_pulls(state="open", head=f"{remote.owner}:{branch}"))

    def _open(
        self, repository: Repository, remote: RemoteRepo, request: PullRequestRequest
    ) -> GhPullRequest:
        """Open the pull request; if another worker opened it meanwhile, that one."""
        try:
            with self._writes.slot(), self._api(f"opening a pull request for {request.branch}"):
                return repository.create_pull(
                    base=request.base_branch,
                    head=request.branch,
                    title=request.title,
                    body=request.body,
                    draft=request.draft,
                    maintainer_can_modify=True,
                )
        except ForgeError as exc:
            if not isinstance(exc.__cause__, GithubException) or exc.__cause__.status != 422:
                raise
            with self._api(f"finding the pull request for {request.branch}"):
                raced = next(iter(self._open_prs(repository, remote, request.branch)), None)
            if raced is None:
                raise
            return raced

    def _record(
        self,
        repo: str,
        pr: GhPullRequest,
        *,
        title: str,
        body: str,
        state: PullRequestState | None = None,
    ) -> PullRequest:
        """Our record of GitHub's PR; `state` when known (reading `merged` off a listed PR
        costs one more request)."""
        if state is None:
            state = "merged" if pr.merged else ("closed" if pr.state == "closed" else "open")
        return PullRequest(
            forge=self.name,
            repo=repo,
            branch=pr.head.ref,
            base_branch=pr.base.ref,
            number=pr.number,
            url=pr.html_url,
            title=title,
            body=body,
            state=state,
            draft=bool(pr.draft),
            head_sha=pr.head.sha,
        )

    def _wait_for_rate_limit(self) -> None:
        """Wait for the reset when the last response said no request is left."""
        remaining, _ = self._gh.requester.rate_limiting
        if remaining != 0:
            return
        wait = self._gh.requester.rate_limiting_resettime - time.time() + 1
        if wait > self.settings.max_rate_limit_wait_s:
            raise ForgeError(f"GitHub: rate limit spent; it resets in {wait:.0f}s")
        if wait > 0:
            time.sleep(wait)

    @contextmanager
    def _api(self, what: str) -> Iterator[None]:
        """GitHub's failures as ForgeError, naming the operation and GitHub's message."""
        self._wait_for_rate_limit()
        try:
            yield
        except GithubException as exc:
            message = exc.message or (exc.data or {}).get("message") or exc.status
            raise ForgeError(
                self._git.redact(f"GitHub: {what} failed: {exc.status} {message}")
            ) from exc
        except RequestException as exc:  # unreachable, or retries spent
            reason = _root_cause(exc)
            raise ForgeError(
                self._git.redact(
                    f"GitHub: {what} failed: {self.settings.api_url} cannot be reached: {reason}"
                )
            ) from exc


def _kept(repository: Repository, query: ForgeQuery) -> bool:
    """Whether a found repository passes the query's language and topic filters."""
    if query.language and (repository.language or "").lower() != query.language.lower():
        return False
    return set(query.topics) <= set(repository.topics or [])


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, on one line (theirs nest three deep)."""
    while exc.__context__ is not None and not isinstance(exc.__context__, KeyboardInterrupt):
        exc = exc.__context__
    text = " ".join(str(exc).split())
    return text.split(": ", 1)[-1][:200] if text else type(exc).__name__


def _run_state(run: CheckRun) -> CheckState:
    if run.status != "completed":
        return "pending"
    return "passed" if run.conclusion in PASSING_CONCLUSIONS else "failed"


def _check_run(run: CheckRun, *, annotate: bool) -> CICheck:
    """A check run as a check; with its failure and warning annotations when `annotate`."""
    title = one_line(run.output.title if run.output else None)
    findings = (
        tuple(
            f"{a.path}:{a.start_line}: {one_line(a.message)}"
            for a in run.get_annotations()
            if a.annotation_level in ("failure", "warning")
        )
        if annotate
        else ()
    )
    return CICheck(
        name=run.name,
        state=_run_state(run),
        detail=title or (run.conclusion or ""),
        url=run.html_url,
        findings=findings,
    )


def _actions_job(run: CheckRun) -> bool:
    return run.app is not None and run.app.slug == ACTIONS_APP


def _with_log(check: CICheck, raw: bytes | None) -> CICheck:
    if raw is None:
        return check
    log, infrastructure = condensed_log(raw)
    return replace(check, log=log, infrastructure=infrastructure)
