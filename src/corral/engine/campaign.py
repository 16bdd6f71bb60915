"""Running and resuming campaigns, and the engines' side of a person's decision.

`run_campaign` and `resume_campaign` record which engine drives the campaign (so any
surface can reach it later) and check the models' keys before any job starts.
`tell_engine` is the `pipeline.jobs.DecisionHook` every surface passes: it wakes the
engine recorded for the job's campaign (a Temporal workflow is signalled at once).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from corral.config import ConfigError
from corral.engine import admission
from corral.engine.base import Engine, OnChange
from corral.pipeline.context import CampaignContext, Runtime, context_for, open_campaign
from corral.pipeline.notify import finished_once
from corral.pipeline.summary import CampaignSummary, summarize
from corral.spec import CampaignSpec
from corral.states import CampaignVerdict
from corral.store import Store
from corral.store.lease import CampaignLease
from corral.store.records import Campaign, Job

ENGINES: dict[str, str] = {
    "local": "corral.engine.local:LocalEngine",
    "temporal": "corral.engine.temporal.engine:TemporalEngine",
}
"""Engine name -> "module:Class"; a new engine adds one line here."""


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module_name, class_name = ENGINES[name].split(":")
    cls: type[Engine] = getattr(importlib.import_module(module_name), class_name)
    return cls


def make_engine(name: str, **options: Any) -> Engine:
    return engine_class(name)(**options)


def recorded_engine(campaign: Campaign, **options: Any) -> Engine:
    """The engine that last ran the campaign (the local one if none did), to drive it again."""
    binding = campaign.engine or {"name": "local"}
    return engine_class(str(binding.get("name"))).from_binding(binding, **options)


def run_campaign(
    spec: CampaignSpec,
    runtime: Runtime,
    *,
    engine: Engine | None = None,
    on_change: OnChange | None = None,
    on_start: Callable[[CampaignContext], None] | None = None,
) -> CampaignSummary:
    """Start or resume the campaign `spec.name`: every live job is driven as far as it goes."""
    store = Store.open(runtime.store_url)
    try:
        with CampaignLease(store, spec.name, wait_s=runtime.wait_for_lease_s):
            ctx = open_campaign(spec, runtime, store)
            if on_start is not None:
                on_start(ctx)
            drive(ctx, engine or make_engine("local"), on_change)
            return summarize(store, ctx.campaign)
    finally:
        store.close()


def resume_campaign(
    store: Store,
    campaign: Campaign,
    runtime: Runtime,
    *,
    engine: Engine | None = None,
    on_change: OnChange | None = None,
) -> CampaignSummary:
    """Drive a recorded campaign again from its stored spec (no spec file needed)."""
    with CampaignLease(store, campaign.name, wait_s=runtime.wait_for_lease_s):
        drive(context_for(campaign, runtime, store), engine or make_engine("local"), on_change)
        return summarize(store, campaign)


def drive(ctx: CampaignContext, engine: Engine, on_change: OnChange | None = None) -> None:
    """Every engine run starts here: keys checked, the engine recorded, then the run."""
    admission.preflight(ctx.spec)
    ctx.store.record_engine(ctx.campaign.id, engine.binding())
    engine.run(ctx, on_change)
    summary = summarize(ctx.store, ctx.campaign)
    if summary.verdict != CampaignVerdict.PENDING:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in summary.counts.most_common())
        finished_once(ctx.store, summary.campaign, ctx.spec, f"finished: {counts}")


def tell_engine(store: Store, job: Job) -> str:
    """The decision hook: wake the engine recorded for the job's campaign."""
    campaign = store.campaign(job.campaign_id)
    if campaign is None:
        return "the job belongs to no recorded campaign"
    binding = campaign.engine or {"name": "local"}
    try:
        cls = engine_class(str(binding.get("name")))
    except ConfigError as exc:
        return f"not told: {exc}"
    return cls.wake(binding, store, campaign, job)
