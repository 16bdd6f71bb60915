"""What the GitHub and GitLab forges share: git with a token that stays on the host, a pace
for writes, and CI results condensed the way the agent is shown them.

The token reaches git only as an `Authorization` header scoped to the forge's host
(`http.<url>.extraHeader`), passed through the environment of git processes that run in a
host-owned bare mirror: never on a command line, never in a remote URL, never in a workspace
the sandbox can write (whose git config and hooks a repository's code could have changed).
Workspaces are cloned from the mirror, and pushes go out from it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from corral.forge.base import Checkout, CIStatus, ForgeError
from corral.forge.git import clean_checkout, force_option, git

MAX_SUMMARY_CHARS = 4000
MAX_FINDINGS_PER_CHECK = 10
MAX_LOGGED_CHECKS = 5
"""Failing checks whose logs are fetched and condensed, per look at a commit's CI."""
MAX_LOG_BYTES = 8 * 1024 * 1024
"""Of a longer log, the end is kept: that is where a failure is reported."""


@dataclass(frozen=True)
class RemoteRepo:
    url: str
    """The clone URL, without credentials."""
    path: str
    """`owner/name` on GitHub, `group/sub/name` on GitLab."""

    @property
    def owner(self) -> str:
        return self.path.split("/", 1)[0]


def parse_repo_url(repo: str, web_url: str) -> RemoteRepo:
    """The repository a target URL names, refused unless it lives on this forge's host."""
    parsed, web = urlsplit(repo), urlsplit(web_url)
    if parsed.username or parsed.password:
        raise ForgeError(
            f"a repository URL on {web_url} must not carry credentials; "
            "the forge's token comes from the environment"
        )
    if (parsed.scheme, parsed.netloc) != (web.scheme, web.netloc):
        raise ForgeError(
            f"{repo!r} is not a repository on {web_url} "
            f"(expected a URL like {web_url.rstrip('/')}/owner/name)"
        )
    prefix = web.path.strip("/")
    path = parsed.path.strip("/").removesuffix(".git")
    if prefix:
        path = path.removeprefix(prefix).strip("/")
    if "/" not in path or "" in path.split("/"):
        raise ForgeError(f"{repo!r} does not name a repository (owner/name)")
    return RemoteRepo(url=f"{web_url.rstrip('/')}/{path}.git", path=path)


class TokenGit:
    """git against one forge host, authenticated by a token that only host-side git sees."""

    def __init__(self, web_url: str, username: str, token: str, mirrors: Path) -> None:
        self.web_url = web_url.rstrip("/") + "/"
        self._username = username
        self._token = token
        self.mirrors = mirrors
        """Host-owned bare mirrors, one a repository: the only place the token is used."""
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def checkout(
        self, remote: RemoteRepo, dest: Path, base_branch: str | None, *, files: bool = True
    ) -> Checkout:
        """A clean checkout of the base branch in dest, cloned from the refreshed mirror, so
        its remote is a local path and holds no credential."""
        with self._mirror(remote, refresh=True) as mirror:
            return clean_checkout(str(mirror), dest, base_branch, files=files)

    def push(
        self, checkout: Path, remote: RemoteRepo, branch: str, expect: str | None = None
    ) -> str:
        """Force-push the checkout's HEAD to `branch`: copied into the mirror without the
        token, then pushed from there with it. Returns the pushed sha."""
        sha = git("rev-parse", "HEAD", cwd=checkout)
        with self._mirror(remote, refresh=False) as mirror:
            outgoing = f"refs/corral/outgoing/{branch}"
            git(
                "fetch", "--no-tags", "--", str(checkout.resolve()), f"+HEAD:{outgoing}", cwd=mirror
            )
            if git("rev-parse", outgoing, cwd=mirror) != sha:
                raise ForgeError(f"the checkout's HEAD moved while pushing {branch}")
            self._authenticated(
                "push",
                force_option(branch, expect),
                "--",
                remote.url,
                f"{sha}:refs/heads/{branch}",
                cwd=mirror,
            )
        return sha

    @contextmanager
    def _mirror(self, remote: RemoteRepo, *, refresh: bool) -> Iterator[Path]:
        key = hashlib.sha256(remote.url.encode()).hexdigest()[:16]
        path = self.mirrors / key
        with self._lock(key):
            if not (path / "HEAD").is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                self._authenticated("clone", "--bare", "--no-tags", "--", remote.url, str(path))
            elif refresh:
                self._authenticated(
                    "fetch", "--prune", "--no-tags", "--", remote.url, "+refs/heads/*:refs/heads/*",
                    cwd=path,
                )  # fmt: skip
            yield path

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def _authenticated(self, *args: str, cwd: Path | None = None) -> str:
        try:
            return git(*args, cwd=cwd, auth=self._auth_config())
        except ForgeError as exc:
            raise ForgeError(self.redact(str(exc))) from None

    def _auth_config(self) -> dict[str, str]:
        """The header, scoped to the forge host; `corral.git` passes it as `GIT_CONFIG_*`."""
        credential = base64.b64encode(f"{self._username}:{self._token}".encode()).decode()
        return {f"http.{self.web_url}.extraHeader": f"Authorization: Basic {credential}"}

    def redact(self, text: str) -> str:
        """text with the token (plain or as the header's encoding) replaced by `***`."""
        credential = base64.b64encode(f"{self._username}:{self._token}".encode()).decode()
        return text.replace(credential, "***").replace(self._token, "***")


class WritePace:
    """One write at a time, at least `interval_s` apart, across all threads of this process:
    forges ask integrators to make content-creating requests serially (GitHub: a second
    apart), and opening many pull requests quickly trips their secondary rate limits."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last = float("-inf")

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            wait = self._last + self.interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                yield
            finally:
                self._last = time.monotonic()


class HostedForge:
    """The git half of a hosted forge, and its pace for writes: the subclasses add the API."""

    def __init__(
        self,
        web_url: str,
        git_username: str,
        token: str,
        seconds_between_writes: float,
        work_dir: Path,
    ) -> None:
        self._web_url = web_url
        self._git = TokenGit(web_url, git_username, token, work_dir / "mirrors")
        self._writes = WritePace(seconds_between_writes)

    def checkout(
        self, repo: str, dest: Path, base_branch: str | None = None, *, files: bool = True
    ) -> Checkout:
        return self._git.checkout(self._remote(repo), dest, base_branch, files=files)

    def push(self, checkout: Path, repo: str, branch: str, expect: str | None = None) -> str:
        return self._git.push(checkout, self._remote(repo), branch, expect)

    def _remote(self, repo: str) -> RemoteRepo:
        return parse_repo_url(repo, self._web_url)

    def _repo_url(self, path: str) -> str:
        """The URL a target list uses for the repository at `path` on this forge."""
        return f"{self._web_url.rstrip('/')}/{path}"


CheckState = Literal["pending", "passed", "failed"]


@dataclass(frozen=True)
class CICheck:
    """One CI check on a commit: a check run, a commit status, a pipeline or one of its jobs."""

    name: str
    state: CheckState
    detail: str = ""
    url: str | None = None
    findings: tuple[str, ...] = ()
    """`file:line: message` lines the check reported (GitHub's annotations)."""
    log: str = ""
    """The check's log condensed (`corral.ci`): every failing file:line it names."""
    infrastructure: str | None = None
    """Why the check failed when the runner, the network or a quota is at fault."""


def combine_checks(checks: Sequence[CICheck], sha: str) -> CIStatus:
    """The commit's CI status: failed if any check failed, pending while any runs, else
    passed; `none` when no CI reported on the commit at all."""
    if not checks:
        return CIStatus("none", "no CI has reported on this commit", sha)
    failed = [c for c in checks if c.state == "failed"]
    if failed:
        infrastructure = (
            "; ".join(f"{c.name}: {c.infrastructure}" for c in failed)
            if all(c.infrastructure for c in failed)
            else None
        )
        summary = _failure_summary(failed, len(checks))
        return CIStatus("failed", summary, sha, failed[0].url, infrastructure=infrastructure)
    running = [c.name for c in checks if c.state == "pending"]
    if running:
        return CIStatus("pending", f"waiting for {', '.join(running)}", sha)
    return CIStatus("passed", f"{len(checks)} check(s) passed", sha)


def _failure_summary(failed: Sequence[CICheck], total: int) -> str:
    lines = [f"CI failed: {len(failed)} of {total} check(s)."]
    for check in failed:
        detail = f": {check.detail}" if check.detail else ""
        link = f" ({check.url})" if check.url else ""
        lines.append(f"- {check.name} failed{detail}{link}")
        if check.log:
            lines += [f"  {line}" for line in check.log.splitlines()]
            continue
        lines += [f"  - {finding}" for finding in check.findings[:MAX_FINDINGS_PER_CHECK]]
        if len(check.findings) > MAX_FINDINGS_PER_CHECK:
            lines.append(f"  - ... {len(check.findings) - MAX_FINDINGS_PER_CHECK} more")
    summary = "\n".join(lines)
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = summary[: MAX_SUMMARY_CHARS - 20].rstrip() + "\n... (truncated)"
    return summary


def one_line(text: str | None) -> str:
    """A forge's free text (titles, descriptions) as one short line."""
    return " ".join((text or "").split())[:300]


def condensed_log(raw: bytes) -> tuple[str, str | None]:
    """A check's log as the agent is shown it, and its infrastructure cause if it has one."""
    from corral.ci import condense
    from corral.ci.infra import classify_infrastructure

    text = raw[-MAX_LOG_BYTES:].decode("utf-8", errors="replace")
    result = condense(text)
    return result.message, classify_infrastructure(text, result)
