"""`corral plan` of a recorded campaign, for the dashboard: its stored spec's targets looked
at now (shallow clones in the work folder; no check is run, so nothing of a repository's
runs), shared by the API and the page."""

from __future__ import annotations

from corral.config import ConfigError
from corral.forge.base import ForgeError
from corral.pipeline.context import Runtime, default_work_dir
from corral.pipeline.plan import plan_campaign
from corral.spec import CampaignSpec
from corral.store import Store
from corral.web import data
from corral.web.models import CampaignPlanView
from corral.web.security import WriteRefused


def campaign_plan(store: Store, campaign_id: int) -> CampaignPlanView:
    campaign = data.find_campaign(store, campaign_id)
    spec = CampaignSpec.model_validate(campaign.spec)
    runtime = Runtime(store_url="", work_dir=default_work_dir())
    try:
        made = plan_campaign(spec, runtime, baseline=False, store=store)
    except (ConfigError, ForgeError) as exc:  # a forge query without its token, say
        raise WriteRefused(409, f"cannot plan campaign {campaign.name}: {exc}") from exc
    return CampaignPlanView.model_validate(made.to_json())
