"""Forges: where repositories live and pull requests are opened. See README.md here."""

from __future__ import annotations

from pathlib import Path

from corral.config import ConfigError
from corral.forge.base import (
    Checkout,
    CIStatus,
    Forge,
    ForgeError,
    PullRequest,
    PullRequestRequest,
)
from corral.forge.local import LocalForge, PullRequestBook, RunnerFactory
from corral.spec import CampaignSpec

__all__ = [
    "CIStatus",
    "Checkout",
    "Forge",
    "ForgeError",
    "LocalForge",
    "PullRequest",
    "PullRequestRequest",
    "make_forge",
]


def make_forge(
    spec: CampaignSpec, book: PullRequestBook, *, work_dir: Path, ci_runner: RunnerFactory
) -> Forge:
    """The forge the campaign names. GitHub and GitLab clients plug in here."""
    if spec.forge == "local":
        return LocalForge(book, work_dir, ci_runner, spec.gate.verifiers)
    raise ConfigError(f"forge: the {spec.forge} forge is not available in this version yet")
