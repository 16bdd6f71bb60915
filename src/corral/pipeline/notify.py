"""Webhooks on the events a person must act on, as the spec's `notify` asks.

Payloads: `slack` ({"text": ...}, what Slack's incoming webhooks and compatible chat tools
take) or `json` ({"event", "campaign", "job", "text"}). A delivery is tried up to
`ATTEMPTS` times with a growing pause; each delivery is recorded in the store (the target's
host only); nothing here ever raises: a notification never fails a job.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from corral.pipeline.context import CampaignContext
from corral.spec import CampaignSpec, NotifyEvent, WebhookSpec
from corral.store import Store
from corral.store.records import Campaign, Job

ATTEMPTS = 3
BACKOFF_S = 0.5
TIMEOUT_S = 5.0


def notify(
    store: Store,
    campaign: Campaign,
    spec: CampaignSpec,
    event: NotifyEvent,
    text: str,
    job: Job | None = None,
) -> None:
    """Post the event to every webhook of the spec that wants it."""
    for hook in spec.notify:
        if event in hook.events:
            _deliver(store, campaign, hook, event, text, job)


def ci_failed_for_good(ctx: CampaignContext, job: Job, url: str) -> None:
    """A PR failing CI with no CI round left: once per job."""
    rounds = ctx.spec.budgets.job.max_ci_rounds if ctx.spec.uses_agent else 0
    if job.ci_rounds < rounds:
        return
    if any(
        n.event == "ci_failed" and n.job_id == job.id
        for n in ctx.store.notifications(ctx.campaign.id)
    ):
        return
    text = f"{job.name}: the pull request fails CI after {job.ci_rounds} round(s): {url}"
    notify(ctx.store, ctx.campaign, ctx.spec, "ci_failed", text, job)


def finished_once(store: Store, campaign: Campaign, spec: CampaignSpec, text: str) -> None:
    """The `finished` event, at most once per campaign."""
    if any(n.event == "finished" for n in store.notifications(campaign.id)):
        return
    notify(store, campaign, spec, "finished", text)


def _deliver(
    store: Store,
    campaign: Campaign,
    hook: WebhookSpec,
    event: NotifyEvent,
    text: str,
    job: Job | None,
) -> None:
    url = hook.url or os.environ.get(hook.url_env or "", "")
    target = urlsplit(url).netloc or f"${hook.url_env}"
    payload = _payload(hook, campaign, event, text, job)
    ok, attempts, detail = _post(url, payload) if url else (False, 0, "no URL in the environment")
    store.record_notification(
        campaign.id,
        None if job is None else job.id,
        event,
        target,
        ok=ok,
        attempts=attempts,
        detail=detail,
    )


def _payload(
    hook: WebhookSpec, campaign: Campaign, event: NotifyEvent, text: str, job: Job | None
) -> dict[str, Any]:
    if hook.format == "slack":
        return {"text": f"corral · {campaign.name}: {text}"}
    return {
        "event": event,
        "campaign": campaign.name,
        "job": None if job is None else {"id": job.id, "repo": job.name, "state": job.state},
        "text": text,
    }


def _post(url: str, payload: dict[str, Any]) -> tuple[bool, int, str | None]:
    detail: str | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = httpx.post(url, json=payload, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}"[:300]
        else:
            if response.is_success:
                return True, attempt, None
            detail = f"HTTP {response.status_code}"
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
    return False, ATTEMPTS, detail
