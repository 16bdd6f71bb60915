"""The local forge: any git URL or path that git can push to is a remote.

A pull request is the pushed branch plus a record in a `PullRequestBook` (the store), with
the same lifecycle as on a real forge: open, merged (the branch's head reached the base
branch), closed (closed through corral, or the branch deleted unmerged). "CI" for a local
pull request runs the verifiers on a fresh clone of the branch.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from corral.config import (
    REPO_CONFIG_FILE,
    ConfigError,
    VerifierSettings,
    load_repo_config_file,
)
from corral.forge.base import (
    Checkout,
    CIStatus,
    ForgeError,
    PullRequest,
    PullRequestRequest,
    PullRequestState,
)
from corral.forge.git import clean_checkout, force_option, git, git_ok
from corral.forge.hosted import condensed_log
from corral.sandbox.base import CommandResult, CommandRunner, Limits, ToolMissingError

RunnerFactory = Callable[[Path], CommandRunner]
"""A command runner confined to the given workspace (the sandbox's make_runner, bound)."""


class PullRequestBook(Protocol):
    """Where local pull requests are kept (the store implements it)."""

    def pull_request(self, forge: str, repo: str, branch: str) -> PullRequest | None: ...

    def save_pull_request(self, pr: PullRequest) -> PullRequest:
        """Insert or update; a PR with number 0 is given one, filling `{number}` in its url."""
        ...


class LocalForge:
    name = "local"

    def __init__(
        self,
        book: PullRequestBook,
        work_dir: Path,
        ci_runner: RunnerFactory,
        ci_settings: VerifierSettings | None = None,
    ) -> None:
        self.book = book
        self.work_dir = work_dir
        """Bare mirrors of remotes (to ask about merges) and CI checkouts live here."""
        self.ci_runner = ci_runner
        self.ci_settings = ci_settings

    def checkout(
        self, repo: str, dest: Path, base_branch: str | None = None, *, files: bool = True
    ) -> Checkout:
        return clean_checkout(repo, dest, base_branch, files=files)

    def push(self, checkout: Path, repo: str, branch: str, expect: str | None = None) -> str:
        git(
            "push",
            force_option(branch, expect),
            "--",
            repo,
            f"HEAD:refs/heads/{branch}",
            cwd=checkout,
        )
        return git("rev-parse", "HEAD", cwd=checkout)

    def find_or_open_pr(self, request: PullRequestRequest) -> PullRequest:
        existing = self.book.pull_request(self.name, request.repo, request.branch)
        if existing is None:
            existing = PullRequest(
                forge=self.name,
                repo=request.repo,
                branch=request.branch,
                base_branch=request.base_branch,
                number=0,
                url=f"{request.repo}#pr-{{number}}",
                title=request.title,
                body=request.body,
            )
        return self.book.save_pull_request(
            existing.with_changes(
                title=request.title,
                body=request.body,
                draft=request.draft,
                head_sha=request.head_sha or existing.head_sha,
                base_branch=request.base_branch,
                state="open",
            )
        )

    def refresh_pr(self, pr: PullRequest) -> PullRequest:
        if pr.state == "closed":
            return pr
        state = self._remote_state(pr)
        if state == pr.state:
            return pr
        return self.book.save_pull_request(pr.with_changes(state=state))

    def close_pr(self, pr: PullRequest, comment: str) -> PullRequest:
        return self.book.save_pull_request(
            pr.with_changes(state="closed", body=f"{pr.body}\n\nClosed: {comment}")
        )

    def delete_branch(self, pr: PullRequest) -> None:
        with tempfile.TemporaryDirectory(prefix="corral-push-") as scratch:
            git("init", "-q", cwd=Path(scratch))
            git("push", "-q", "--", pr.repo, f":refs/heads/{pr.branch}", cwd=Path(scratch))

    def ci_status(self, pr: PullRequest) -> CIStatus:
        if pr.ci.sha == pr.head_sha and pr.ci.state in ("passed", "failed"):
            return pr.ci
        status = self._run_ci(pr.repo, pr.branch, pr.head_sha)
        self.book.save_pull_request(pr.with_changes(ci=status))
        return status

    def base_ci_status(self, pr: PullRequest) -> CIStatus:
        return self._run_ci(pr.repo, pr.base_branch, "")

    def rerun_ci(self, pr: PullRequest) -> bool:
        """The local CI runs again at the next look: its result is forgotten."""
        self.book.save_pull_request(pr.with_changes(ci=CIStatus("none")))
        return True

    def comment(self, pr: PullRequest, text: str) -> None:
        """A local PR keeps its comments in its description."""
        current = self.book.pull_request(self.name, pr.repo, pr.branch) or pr
        self.book.save_pull_request(current.with_changes(body=f"{current.body}\n\n{text}"))

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> PullRequest:
        """A local PR keeps its labels in its record."""
        current = self.book.pull_request(self.name, pr.repo, pr.branch) or pr
        merged = tuple(dict.fromkeys([*current.labels, *labels]))
        return self.book.save_pull_request(current.with_changes(labels=merged))

    def request_reviewers(self, pr: PullRequest, reviewers: Sequence[str]) -> PullRequest:
        """A local PR keeps who was asked in its record (nobody is told)."""
        current = self.book.pull_request(self.name, pr.repo, pr.branch) or pr
        merged = tuple(dict.fromkeys([*current.reviewers, *reviewers]))
        return self.book.save_pull_request(current.with_changes(reviewers=merged))

    def _remote_state(self, pr: PullRequest) -> PullRequestState:
        mirror = self._mirror(pr.repo)
        heads = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=mirror)
        if pr.base_branch in heads.splitlines() and git_ok(
            "merge-base", "--is-ancestor", pr.head_sha, pr.base_branch, cwd=mirror
        ):
            return "merged"
        return "open" if pr.branch in heads.splitlines() else "closed"

    def _mirror(self, repo: str) -> Path:
        """A bare copy of the remote's branches, refreshed: to ask about merges offline."""
        path = self.work_dir / "mirrors" / _key(repo)
        if not (path / "HEAD").is_file():
            path.mkdir(parents=True, exist_ok=True)
            git("init", "--bare", "-q", str(path))
        git("fetch", "--prune", "--no-tags", "--", repo, "+refs/heads/*:refs/heads/*", cwd=path)
        return path

    def _run_ci(self, repo: str, branch: str, head_sha: str) -> CIStatus:
        """The verifiers on a fresh clone of the branch, in the same folder each time for one
        branch, so dependency installs keyed by path are reused."""
        from corral.verifiers import verify

        tree = self.work_dir / "ci" / _key(f"{repo}#{branch}")
        shutil.rmtree(tree, ignore_errors=True)
        try:
            git("clone", "--no-tags", "--branch", branch, "--", repo, str(tree))
        except ForgeError as exc:
            return CIStatus("failed", f"CI could not check out {branch}: {exc}", head_sha)
        sha = git("rev-parse", "HEAD", cwd=tree)
        runner = self.ci_runner(tree)
        report = verify(tree, runner, self.ci_settings)
        script = _ci_script(tree, runner)
        if not report.results and script is None:
            return CIStatus("failed", f"CI found nothing to check: {report.message}", sha)
        parts = [report.message] if report.results and not report.ok else []
        infrastructure = None
        if script is not None and not script.ok:
            log, infrastructure = condensed_log(script.output.encode())
            command = " ".join(script.argv)
            command = command if len(command) <= 60 else command[:59] + "\u2026"
            parts.append(f"CI command `{command}` failed (exit {script.exit_code}):\n{log}")
        if not parts:
            return CIStatus("passed", report.message, sha)
        infrastructure = infrastructure if report.ok or not report.results else None
        return CIStatus("failed", "\n\n".join(parts), sha, infrastructure=infrastructure)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ci_script(tree: Path, runner: CommandRunner) -> CommandResult | None:
    """The repository's CI command (`ci.command` in its .corral.yaml), run on the clone."""
    config_file = tree / REPO_CONFIG_FILE
    if not config_file.is_file():
        return None
    try:
        settings = load_repo_config_file(config_file).ci
    except ConfigError as exc:
        return CommandResult(("corral",), 2, "", f"{REPO_CONFIG_FILE}: {exc}", 0.0)
    if settings is None:
        return None
    try:
        return runner.run(settings.command, cwd=tree, limits=Limits(timeout_s=settings.timeout_s))
    except ToolMissingError as exc:
        return CommandResult(tuple(settings.command), 127, "", f"not installed: {exc}", 0.0)
