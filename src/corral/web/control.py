"""The dashboard's campaign controls (pause, resume, cancel), shared by the API and the
pages: each is one call of corral.engine.control, then one line saying what happened."""

from __future__ import annotations

from corral.engine import control
from corral.pipeline.context import Runtime, context_for, default_work_dir
from corral.store import Store
from corral.web import data
from corral.web.models import ControlResult


def pause(store: Store, campaign_id: int, by: str, reason: str | None) -> ControlResult:
    campaign = control.pause(store, data.find_campaign(store, campaign_id), by=by, reason=reason)
    return ControlResult(campaign=campaign.name, paused=campaign.paused, note="no job starts now")


def resume(store: Store, campaign_id: int) -> ControlResult:
    campaign = control.resume(store, data.find_campaign(store, campaign_id))
    note = control.tell_engine_campaign(store, campaign)
    return ControlResult(campaign=campaign.name, paused=campaign.paused, note=note)


def cancel(store: Store, campaign_id: int, by: str, delete_branches: bool) -> ControlResult:
    campaign = data.find_campaign(store, campaign_id)
    runtime = Runtime(store_url="", work_dir=default_work_dir())  # the forge's own folder
    done = control.cancel(
        context_for(campaign, runtime, store), by=by, delete_branches=delete_branches
    )
    note = f"{len(done.ended)} job(s) ended, {len(done.closed)} pull request(s) closed"
    if done.errors:
        note += f"; not closed: {'; '.join(done.errors)}"
    return ControlResult(campaign=campaign.name, paused=done.campaign.paused, note=note)
