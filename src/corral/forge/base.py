"""What every forge is: clone, push, find-or-open a pull request, follow it, read its CI.

Implementations: local.py (any git remote; the default), github.py and gitlab.py.
The pipeline is the only caller: a forge never acts on its own. Every method is idempotent,
so a step that is re-run after a crash finds what the first run left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

PullRequestState = Literal["open", "merged", "closed"]
CIState = Literal["pending", "passed", "failed", "none"]


class ForgeError(RuntimeError):
    """A forge operation failed; the message says which and why, without credentials."""


class UnaskedReviewersError(ForgeError):
    """Some reviewers could not be asked (no such user, a group where users are needed);
    `pr` is the pull request as it is, with those who were asked."""

    def __init__(self, message: str, pr: PullRequest) -> None:
        super().__init__(message)
        self.pr = pr


@dataclass(frozen=True)
class Checkout:
    path: Path
    base_branch: str
    base_sha: str


@dataclass(frozen=True)
class CIStatus:
    state: CIState
    summary: str = ""
    """For a failure: the condensed failing checks, as the agent would be shown them."""
    sha: str = ""
    """The commit the status is for."""
    url: str | None = None
    infrastructure: str | None = None
    """When every failing check failed for the infrastructure (runner lost, registry
    unreachable, quota): why. Such a failure is not the change's to fix."""


@dataclass(frozen=True)
class PullRequestRequest:
    """What the pipeline asks for: one pull request per (campaign, repository, branch)."""

    campaign: str
    repo: str
    branch: str
    base_branch: str
    title: str
    body: str
    draft: bool = False
    head_sha: str = ""


@dataclass(frozen=True)
class PullRequest:
    forge: str
    repo: str
    branch: str
    base_branch: str
    number: int
    url: str
    title: str
    body: str
    state: PullRequestState = "open"
    draft: bool = False
    head_sha: str = ""
    ci: CIStatus = field(default_factory=lambda: CIStatus("none"))
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    """Users (`alice`) and teams (`org/team`) asked for review, as far as corral knows."""

    def with_changes(self, **changes: object) -> PullRequest:
        return replace(self, **changes)  # type: ignore[arg-type]


class Forge(Protocol):
    name: str

    def checkout(
        self, repo: str, dest: Path, base_branch: str | None = None, *, files: bool = True
    ) -> Checkout:
        """A clean checkout of the base branch in dest (cloned, or an existing one reset).
        `files=False`: an existing checkout is only fetched (its base's tip read), its HEAD
        and files left as they are."""
        ...

    def push(self, checkout: Path, repo: str, branch: str, expect: str | None = None) -> str:
        """Push HEAD of checkout to `branch` on the remote, replacing it; returns the sha.
        With `expect`, only while the remote branch is still at that sha (a lease)."""
        ...

    def find_or_open_pr(self, request: PullRequestRequest) -> PullRequest:
        """The open PR for request.branch, updated to the request, or a new one. Never two."""
        ...

    def refresh_pr(self, pr: PullRequest) -> PullRequest:
        """The PR's current state on the forge (open, merged, closed; head sha)."""
        ...

    def close_pr(self, pr: PullRequest, comment: str) -> PullRequest:
        """Comment on the PR and close it unmerged (a merged or closed one is left as it is)."""
        ...

    def delete_branch(self, pr: PullRequest) -> None:
        """Delete the PR's branch on the remote; a branch already gone is no error."""
        ...

    def ci_status(self, pr: PullRequest) -> CIStatus:
        """CI for the PR's head commit; `pending` while it runs."""
        ...

    def base_ci_status(self, pr: PullRequest) -> CIStatus:
        """CI on the head of the PR's base branch: what fails there is not the change's."""
        ...

    def rerun_ci(self, pr: PullRequest) -> bool:
        """Run the failed checks of the PR's head commit once more; False when it cannot."""
        ...

    def comment(self, pr: PullRequest, text: str) -> None:
        """A comment on the PR (what corral decided about it, for its reviewers)."""
        ...

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> PullRequest:
        """Put labels on the PR (those it has already stay); the PR with all its labels."""
        ...

    def request_reviewers(self, pr: PullRequest, reviewers: Sequence[str]) -> PullRequest:
        """Ask users (`alice`) and teams (`org/team`) to review the PR. Those the forge
        refuses or cannot ask make a ForgeError naming them, after the others were asked."""
        ...
