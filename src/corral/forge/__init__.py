"""Forges: where repositories live and pull requests are opened. See README.md here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.forge.base import (
    Checkout,
    CIStatus,
    Forge,
    ForgeError,
    PullRequest,
    PullRequestRequest,
)

if TYPE_CHECKING:
    from corral.forge.github import GitHubForge
    from corral.forge.gitlab import GitLabForge
    from corral.forge.local import LocalForge, PullRequestBook, RunnerFactory
    from corral.spec import CampaignSpec

_LAZY = {"LocalForge", "PullRequestBook", "RunnerFactory"}


def __getattr__(name: str) -> Any:
    """The local forge on first use: importing `corral.forge.base` (the store does, for its
    records) must not load the campaign spec's models and the sandbox (~0.6 s per command)."""
    if name in _LAZY:
        from corral.forge import local

        return getattr(local, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CIStatus",
    "Checkout",
    "Forge",
    "ForgeError",
    "LocalForge",
    "PullRequest",
    "PullRequestRequest",
    "find_repositories",
    "make_forge",
]


def make_forge(
    spec: CampaignSpec, book: PullRequestBook, *, work_dir: Path, ci_runner: RunnerFactory
) -> Forge:
    """The forge the campaign names. GitHub and GitLab read their token and URLs from the
    environment (GITHUB_TOKEN, GITHUB_API_URL, GITHUB_SERVER_URL; GITLAB_TOKEN, GITLAB_URL)."""
    if spec.forge == "local":
        from corral.forge.local import LocalForge

        return LocalForge(book, work_dir, ci_runner, spec.gate.verifiers)
    return _hosted_forge(spec, work_dir)


def find_repositories(spec: CampaignSpec, work_dir: Path) -> list[str]:
    """The repository URLs the spec's `targets.query` selects on its forge."""
    if spec.targets.query is None:
        return []
    return _hosted_forge(spec, work_dir).find_repositories(spec.targets.query)


def _hosted_forge(spec: CampaignSpec, work_dir: Path) -> GitHubForge | GitLabForge:
    # imported here: a local campaign need not load the forges' HTTP clients
    if spec.forge == "github":
        from corral.forge.github import GitHubForge, GitHubSettings

        return GitHubForge(GitHubSettings.from_env(), work_dir)
    if spec.forge == "gitlab":
        from corral.forge.gitlab import GitLabForge, GitLabSettings

        return GitLabForge(GitLabSettings.from_env(), work_dir)
    from corral.config import ConfigError

    raise ConfigError(f"forge: {spec.forge!r} is not a forge that can search repositories")
