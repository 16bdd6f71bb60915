"""The GitLab forge (REST v4, through python-gitlab): merge requests are its pull requests.

Repositories are `https://gitlab.com/group/sub/name`; a merge request's number is its `iid`.
CI is the latest pipeline on the head commit, with its failed jobs as the failing checks.
Rate limits: python-gitlab waits out 429 answers (`Retry-After`, else `RateLimit-Reset`) and
retries transient 5xx with backoff; writes go one at a time at a pace across all workers.
The token comes from `GITLAB_TOKEN`; see hosted.py for how git gets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gitlab
import requests
from gitlab.v4.objects import Project, ProjectMergeRequest, ProjectPipeline

from corral.config import ConfigError
from corral.forge.base import (
    CIStatus,
    ForgeError,
    PullRequest,
    PullRequestRequest,
    PullRequestState,
    UnaskedReviewersError,
)
from corral.forge.hosted import (
    MAX_LOGGED_CHECKS,
    CheckState,
    CICheck,
    HostedForge,
    combine_checks,
    condensed_log,
    one_line,
)
from corral.spec import ForgeQuery

DRAFT_PREFIX = "Draft: "
MR_STATES: dict[str, PullRequestState] = {
    "opened": "open",
    "locked": "open",
    "merged": "merged",
    "closed": "closed",
}
INFRASTRUCTURE_REASONS = {
    "runner_system_failure": "the runner failed",
    "stuck_or_timeout_failure": "no runner picked the job up, or it timed out",
    "api_failure": "GitLab's API failed",
    "scheduler_failure": "GitLab could not schedule the job",
    "data_integrity_failure": "GitLab's data integrity check failed",
    "runner_unsupported": "the runner does not support the job",
    "archived_failure": "the job was archived",
    "unmet_prerequisites": "the job's prerequisites (an environment, a cluster) were not met",
}
"""GitLab's failure reasons that are not the change's fault."""
PIPELINE_STATES: dict[str, CheckState | None] = {
    "success": "passed",
    "failed": "failed",
    "canceled": "failed",
    "canceling": "failed",
    "skipped": None,  # nothing ran: no CI on this commit
}
"""Anything else (created, pending, running, manual, scheduled, ...) is still pending."""


@dataclass(frozen=True)
class GitLabSettings:
    token: str = field(repr=False)
    url: str = "https://gitlab.com"
    """The instance: its API is under /api/v4, and target URLs must be on it."""
    seconds_between_writes: float = 1.0
    max_retries: int = 10
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GitLabSettings:
        """`GITLAB_TOKEN`; `GITLAB_URL` for a self-managed instance."""
        token = env.get("GITLAB_TOKEN")
        if not token:
            raise ConfigError("forge: gitlab needs a token in GITLAB_TOKEN")
        return cls(token=token, url=env.get("GITLAB_URL") or cls.url)


class GitLabForge(HostedForge):
    name = "gitlab"

    def __init__(self, settings: GitLabSettings, work_dir: Path) -> None:
        super().__init__(
            settings.url, "oauth2", settings.token, settings.seconds_between_writes, work_dir
        )
        self.settings = settings
        self._gl = gitlab.Gitlab(
            settings.url,
            private_token=settings.token,
            timeout=settings.timeout_s,
            retry_transient_errors=True,
            per_page=100,
        )

    # merge requests

    def find_or_open_pr(self, request: PullRequestRequest) -> PullRequest:
        project = self._project(request.repo)
        title = f"{DRAFT_PREFIX}{request.title}" if request.draft else request.title
        with self._api(f"finding the merge request for {request.branch}"):
            found = self._open_mr(project, request.branch)
        if found is None:
            found = self._open(project, request, title)
        elif (found.title, found.description or "", found.target_branch) != (
            title,
            request.body,
            request.base_branch,
        ):
            found.title = title
            found.description = request.body
            found.target_branch = request.base_branch
            with self._writes.slot(), self._api(f"updating merge request !{found.iid}"):
                found.save()
        return self._record(request.repo, found, title=request.title, body=request.body)

    def refresh_pr(self, pr: PullRequest) -> PullRequest:
        with self._api(f"reading merge request !{pr.number}"):
            current = self._project(pr.repo).mergerequests.get(pr.number)
        return self._record(pr.repo, current, title=pr.title, body=pr.body).with_changes(
            ci=pr.ci, labels=pr.labels, reviewers=pr.reviewers
        )

    def close_pr(self, pr: PullRequest, comment: str) -> PullRequest:
        with self._api(f"closing merge request !{pr.number}"):
            current = self._project(pr.repo).mergerequests.get(pr.number)
            if current.state == "opened":
                with self._writes.slot():
                    current.notes.create({"body": comment})
                current.state_event = "close"
                with self._writes.slot():
                    current.save()
        return self.refresh_pr(pr)

    def base_ci_status(self, pr: PullRequest) -> CIStatus:
        """The latest pipeline of the base branch."""
        project = self._project(pr.repo)
        with self._api(f"reading pipelines of {pr.base_branch}"):
            pipelines = project.pipelines.list(
                ref=pr.base_branch, order_by="id", sort="desc", per_page=1, get_all=False
            )
            if not pipelines:
                return combine_checks([], "")
            return combine_checks(self._pipeline_checks(project, pipelines[0]), pipelines[0].sha)

    def rerun_ci(self, pr: PullRequest) -> bool:
        """Retry the failed jobs of the head commit's latest pipeline."""
        project = self._project(pr.repo)
        with self._api(f"retrying CI of {pr.head_sha[:12] or pr.branch}"):
            pipelines = project.pipelines.list(
                sha=pr.head_sha, order_by="id", sort="desc", per_page=1, get_all=False
            )
            if not pipelines:
                return False
            failed = pipelines[0].jobs.list(scope=["failed"], get_all=True)
            for job in failed:
                with self._writes.slot():
                    project.jobs.get(job.id, lazy=True).retry()
        return bool(failed)

    def comment(self, pr: PullRequest, text: str) -> None:
        with self._api(f"commenting on merge request !{pr.number}"):
            current = self._project(pr.repo).mergerequests.get(pr.number, lazy=True)
            with self._writes.slot():
                current.notes.create({"body": text})

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> PullRequest:
        """`add_labels` on the merge request (GitLab creates a label the project lacks)."""
        with self._api(f"labelling merge request !{pr.number}"):
            project = self._project(pr.repo)
            with self._writes.slot():
                data = project.mergerequests.update(pr.number, {"add_labels": ",".join(labels)})
        return pr.with_changes(labels=tuple(map(str, data.get("labels") or labels)))

    def request_reviewers(self, pr: PullRequest, reviewers: Sequence[str]) -> PullRequest:
        """Users by username (GitLab asks users, not groups), added to the MR's reviewers."""
        with self._api(f"requesting reviewers on merge request !{pr.number}"):
            ids = {name: self._user_id(name) for name in reviewers if "/" not in name}
            project = self._project(pr.repo)
            current = project.mergerequests.get(pr.number)
            had = [r["id"] for r in getattr(current, "reviewers", None) or []]
            wanted = [i for i in ids.values() if i is not None]
            if wanted:
                with self._writes.slot():
                    project.mergerequests.update(
                        pr.number, {"reviewer_ids": list(dict.fromkeys([*had, *wanted]))}
                    )
        asked = [name for name, i in ids.items() if i is not None]
        updated = pr.with_changes(reviewers=tuple(dict.fromkeys([*pr.reviewers, *asked])))
        missing = [r for r in reviewers if r not in asked]
        if missing:
            raise UnaskedReviewersError(
                f"GitLab: cannot ask {', '.join(missing)} for review (no such user; "
                "GitLab asks users, not groups)",
                updated,
            )
        return updated

    def _user_id(self, username: str) -> int | None:
        found = self._gl.users.list(username=username.lstrip("@"), get_all=False)
        return int(found[0].id) if found else None

    def delete_branch(self, pr: PullRequest) -> None:
        with self._api(f"deleting branch {pr.branch}"):
            project = self._project(pr.repo)
            try:
                with self._writes.slot():
                    project.branches.delete(pr.branch)
            except gitlab.exceptions.GitlabDeleteError as exc:
                if exc.response_code != 404:
                    raise

    def ci_status(self, pr: PullRequest) -> CIStatus:
        """The latest pipeline on the head commit; when it failed, its failed jobs."""
        project = self._project(pr.repo)
        sha = pr.head_sha or self.refresh_pr(pr).head_sha
        with self._api(f"reading pipelines of {sha[:12]}"):
            pipelines = project.pipelines.list(
                sha=sha, order_by="id", sort="desc", per_page=1, get_all=False
            )
            if not pipelines:
                return combine_checks([], sha)
            return combine_checks(self._pipeline_checks(project, pipelines[0]), sha)

    # targets

    def find_repositories(self, query: ForgeQuery) -> list[str]:
        """The projects of a group and its subgroups (archived ones left out), with every
        one of the query's topics."""
        if query.gitlab_group is None:
            raise ConfigError("targets.query: the gitlab forge searches a gitlab_group only")
        with self._api(f"listing the projects of {query.gitlab_group}"):
            group = self._gl.groups.get(query.gitlab_group, lazy=True)
            # booleans as GitLab documents them: requests would send Python's "True"
            topics = {"topic": ",".join(query.topics)} if query.topics else {}
            projects = group.projects.list(
                include_subgroups="true",
                archived="false",
                order_by="path",
                iterator=True,
                **topics,
            )
            paths = [p.path_with_namespace for p in projects]
        return [self._repo_url(path) for path in paths]

    # helpers

    def _project(self, repo: str) -> Project:
        return self._gl.projects.get(self._remote(repo).path, lazy=True)

    def _open_mr(self, project: Project, branch: str) -> ProjectMergeRequest | None:
        found = project.mergerequests.list(
            source_branch=branch, state="opened", per_page=1, get_all=False
        )
        return found[0] if found else None

    def _open(self, project: Project, request: PullRequestRequest, title: str) -> Any:
        """Open the merge request; if another worker opened it meanwhile (409), that one."""
        try:
            with self._writes.slot():
                return project.mergerequests.create(
                    {
                        "source_branch": request.branch,
                        "target_branch": request.base_branch,
                        "title": title,
                        "description": request.body,
                        "remove_source_branch": True,
                    }
                )
        except gitlab.GitlabCreateError as exc:
            if exc.response_code == 409:
                with self._api(f"finding the merge request for {request.branch}"):
                    raced = self._open_mr(project, request.branch)
                if raced is not None:
                    return raced
            raise self._error(f"opening a merge request for {request.branch}", exc) from exc
        except (gitlab.GitlabError, requests.RequestException) as exc:
            raise self._error(f"opening a merge request for {request.branch}", exc) from exc

    def _record(self, repo: str, mr: Any, *, title: str, body: str) -> PullRequest:
        return PullRequest(
            forge=self.name,
            repo=repo,
            branch=mr.source_branch,
            base_branch=mr.target_branch,
            number=mr.iid,
            url=mr.web_url,
            title=title,
            body=body,
            state=MR_STATES.get(mr.state, "closed"),
            draft=bool(getattr(mr, "draft", False)),
            head_sha=mr.sha or "",
        )

    def _pipeline_checks(self, project: Project, pipeline: ProjectPipeline) -> list[CICheck]:
        state = PIPELINE_STATES.get(pipeline.status, "pending")
        if state is None:
            return []
        whole = CICheck(f"pipeline #{pipeline.id}", state, pipeline.status, pipeline.web_url)
        if state != "failed":
            return [whole]
        jobs = pipeline.jobs.list(scope=["failed"], get_all=True)
        failed = [
            self._failed_job(project, job, logged=i < MAX_LOGGED_CHECKS)
            for i, job in enumerate(jobs)
        ]
        return failed or [whole]

    def _failed_job(self, project: Project, job: Any, *, logged: bool) -> CICheck:
        """A failed job, with its trace condensed; GitLab's own failure reason names the
        infrastructure's failures (runner_system_failure, stuck_or_timeout_failure, ...)."""
        reason = getattr(job, "failure_reason", "") or ""
        check = CICheck(
            name=f"{job.stage}: {job.name}",
            state="failed",
            detail=one_line(reason or job.status),
            url=job.web_url,
            infrastructure=INFRASTRUCTURE_REASONS.get(reason),
        )
        if not logged:
            return check
        trace = project.jobs.get(job.id, lazy=True).trace()
        log, infrastructure = condensed_log(trace if isinstance(trace, bytes) else bytes(trace))
        return replace(check, log=log, infrastructure=check.infrastructure or infrastructure)

    @contextmanager
    def _api(self, what: str) -> Iterator[None]:
        try:
            yield
        except (gitlab.GitlabError, requests.RequestException) as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: Exception) -> ForgeError:
        """GitLab's failure as ForgeError, naming the operation and GitLab's message."""
        if isinstance(exc, gitlab.GitlabError):
            detail = f"{exc.response_code} {exc.error_message}"
        else:
            detail = str(exc)
        return ForgeError(self._git.redact(f"GitLab: {what} failed: {detail}"))
