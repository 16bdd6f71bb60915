"""Imports every command module, so that each registers its commands on `app` (in the order
`corral --help` lists them)."""

from corral.cli import verify  # isort: skip
from corral.cli import change, gate, campaign, control, plan, demo, serve, evals, integrations  # isort: skip
from corral.cli import condense  # isort: skip
from corral.cli import eval_suites  # isort: skip

__all__ = [
    "campaign",
    "change",
    "condense",
    "control",
    "demo",
    "eval_suites",
    "evals",
    "gate",
    "integrations",
    "plan",
    "serve",
    "verify",
]
