"""What the steps of one campaign need: the store, the forge, the spec, and where to work.

`Runtime` is plain data, so another process (a Temporal worker) can rebuild the same
`CampaignContext` from it and a campaign id.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from corral.config import ConfigError
from corral.forge import Forge, find_repositories, make_forge
from corral.sandbox import Backend, CommandRunner, default_cache_dir, make_runner
from corral.spec import CampaignSpec, TargetSpec, selected_targets
from corral.store import Store
from corral.store.records import Campaign, Job


def default_work_dir() -> Path:
    """Checkouts live here: $CORRAL_WORK_DIR, else the user's data folder."""
    env = os.environ.get("CORRAL_WORK_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "corral" / "work"


@dataclass(frozen=True)
class Runtime:
    """Where and how a campaign runs on this machine (not part of the campaign itself)."""

    store_url: str
    work_dir: Path = field(default_factory=default_work_dir)
    cache_dir: Path | None = None
    """Dependency caches; default: one folder per campaign under ~/.cache/corral/caches."""
    sandbox: Backend = "bwrap"
    wait_for_lease_s: float | None = None
    """Another run holds the campaign: None to refuse at once (store/lease.py), else wait
    up to this long (math.inf: for good)."""

    def cache_for(self, campaign: str) -> Path:
        return self.cache_dir or default_cache_dir(campaign)

    def runner(self, campaign: str, workspace: Path) -> CommandRunner:
        return make_runner(self.sandbox, workspace=workspace, cache_dir=self.cache_for(campaign))


@dataclass
class CampaignContext:
    runtime: Runtime
    store: Store
    campaign: Campaign
    spec: CampaignSpec
    forge: Forge
    changes: list[str] = field(default_factory=list)
    """What differs from the spec this campaign last ran with, and what this run does."""
    removed: set[tuple[str, str | None]] = field(default_factory=set)
    """(repo, workspace) of the targets the spec no longer has: their jobs are not driven."""
    ci_slots: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Held while a push takes one of the campaign's `ci_concurrency` slots (pipeline/ci_load)."""

    @property
    def campaign_dir(self) -> Path:
        return self.runtime.work_dir / self.campaign.name

    def runner(self, workspace: Path) -> CommandRunner:
        return self.runtime.runner(self.campaign.name, workspace)

    def checkout_dir(self, job: Job) -> Path:
        return self.campaign_dir / "checkouts" / f"{job.id}-{_slug(job.name)}"

    def target(self, job: Job) -> TargetSpec:
        """The job's target in the spec: the same repository (URL or path) and workspace,
        with its overrides (`targets.overrides`)."""
        for item in self.spec.targets.repos:
            if isinstance(item, TargetSpec) and (item.repo, item.workspace) == (
                job.repo,
                job.workspace,
            ):
                return self.spec.targets.with_override(item)
        found = TargetSpec(repo=job.repo, workspace=job.workspace, name=job.name)
        return self.spec.targets.with_override(found)

    def ended_meanwhile(self, job: Job) -> str | None:
        """Why `job` must not go on: it was ended while a step ran (the campaign cancelled);
        None while it is live. An agent session asks between its turns."""
        from corral.states import TERMINAL

        current = self.store.job(job.id)
        return current.reason or current.state.value if current.state in TERMINAL else None

    def live_jobs(self) -> list[Job]:
        """The jobs still to drive: unfinished, and of a target the spec still has (a removed
        target's job, and its PR, are left as they are)."""
        from corral.states import TERMINAL

        return [
            job
            for job in self.store.jobs(self.campaign.id)
            if job.state not in TERMINAL and (job.repo, job.workspace) not in self.removed
        ]


def open_campaign(spec: CampaignSpec, runtime: Runtime, store: Store) -> CampaignContext:
    """Record the (resolved) spec and one job per selected target; a re-run finds them."""
    found = find_repositories(spec, runtime.work_dir / spec.name / "forge")
    targets = selected_targets(spec, found)
    if not targets:
        raise ConfigError("targets: no repository is left after include/exclude")
    before = store.campaign(spec.name)
    campaign = store.save_campaign(spec.name, spec.model_dump(mode="json"))
    known = {(job.repo, job.workspace): job for job in store.jobs(campaign.id)}
    for target in targets:
        store.ensure_job(campaign.id, target.display_name, target.repo, target.workspace)
    ctx = context_for(campaign, runtime, store)
    if before is not None:
        current = {(t.repo, t.workspace) for t in targets}
        ctx.removed = set(known) - current
        ctx.changes = spec_changes(before.spec, ctx.spec, targets, known, ctx.removed)
    return ctx


def spec_changes(
    stored: dict[str, object],
    spec: CampaignSpec,
    targets: list[TargetSpec],
    known: dict[tuple[str, str | None], Job],
    removed: set[tuple[str, str | None]],
) -> list[str]:
    """One line per difference from the spec the campaign last ran with, saying what this
    run does about it."""
    new = spec.model_dump(mode="json")
    lines = [
        f"{name} changed: jobs not finished yet work with the new one"
        for name in ("prompt", "command", "agent", "gate", "pull_request", "budgets")
        if stored.get(name) != new.get(name)
    ]
    lines += [
        f"new target {t.display_name} ({t.repo}): a new job"
        for t in targets
        if (t.repo, t.workspace) not in known
    ]
    lines += [
        f"target {known[key].name} ({key[0]}) was removed: its job and PR are left as they are"
        for key in sorted(removed, key=str)
    ]
    return lines


def context_for(campaign: Campaign, runtime: Runtime, store: Store) -> CampaignContext:
    """The context of a recorded campaign, from its stored spec."""
    spec = CampaignSpec.model_validate(campaign.spec)
    forge = make_forge(
        spec,
        store,
        work_dir=runtime.work_dir / campaign.name / "forge",
        ci_runner=lambda workspace: runtime.runner(campaign.name, workspace),
    )
    return CampaignContext(runtime, store, campaign, spec, forge)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "repo"
