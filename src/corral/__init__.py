"""corral: background coding agents that make one change across many repositories.

The library surface, for use without the CLI (each name loads its part on first use, so
importing corral has no side effects and costs nothing):

    from corral import make_runner, verify_path, StagedGate, GateSettings
    report = verify_path(Path("repo"), make_runner("bwrap", workspace=..., cache_dir=...))

    from corral import load_spec, run_campaign, Runtime
    summary = run_campaign(load_spec(Path("spec.yaml")), Runtime(...))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "verify_path": "corral.verifiers",
    "VerifyReport": "corral.verifiers",
    "VerifierResult": "corral.verifiers",
    "Finding": "corral.verifiers",
    "make_runner": "corral.sandbox",
    "default_cache_dir": "corral.sandbox",
    "StagedGate": "corral.gate.gate",
    "GateResult": "corral.gate.base",
    "GateSettings": "corral.gate.settings",
    "AgentChoice": "corral.agents.factory",
    "try_change": "corral.agents.change",
    "ChangeResult": "corral.agents.change",
    "CampaignSpec": "corral.spec",
    "load_spec": "corral.spec",
    "Runtime": "corral.pipeline.context",
    "run_campaign": "corral.engine.campaign",
    "resume_campaign": "corral.engine.campaign",
    "CampaignSummary": "corral.pipeline.summary",
    "Store": "corral.store",
}

__all__ = [
    "AgentChoice",
    "CampaignSpec",
    "CampaignSummary",
    "ChangeResult",
    "Finding",
    "GateResult",
    "GateSettings",
    "Runtime",
    "StagedGate",
    "Store",
    "VerifierResult",
    "VerifyReport",
    "__version__",
    "default_cache_dir",
    "load_spec",
    "make_runner",
    "resume_campaign",
    "run_campaign",
    "try_change",
    "verify_path",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:
    from corral.agents.change import ChangeResult, try_change
    from corral.agents.factory import AgentChoice
    from corral.engine.campaign import resume_campaign, run_campaign
    from corral.gate.base import GateResult
    from corral.gate.gate import StagedGate
    from corral.gate.settings import GateSettings
    from corral.pipeline.context import Runtime
    from corral.pipeline.summary import CampaignSummary
    from corral.sandbox import default_cache_dir, make_runner
    from corral.spec import CampaignSpec, load_spec
    from corral.store import Store
    from corral.verifiers import Finding, VerifierResult, VerifyReport, verify_path
