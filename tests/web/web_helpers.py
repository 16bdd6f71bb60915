"""Helpers for the dashboard tests: a fast real campaign (no toolchain needed) on the local forge.

Not a conftest.py: the web tests import this module by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from corral.campaigns import CampaignSummary, run_campaign
from corral.engine.base import Engine
from corral.pipeline.context import Runtime
from corral.spec import CampaignSpec

APPEND_LINE = "printf 'Signed off by the release team.\\n' >> NOTES.md"


def notes_spec(name: str, remotes: list[Path], **fields: Any) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": name,
            "command": APPEND_LINE,
            "targets": {"repos": [str(remote) for remote in remotes]},
            **fields,
        }
    )


def run_notes_campaign(
    spec: CampaignSpec, store_url: str, work: Path, engine: Engine | None = None
) -> CampaignSummary:
    runtime = Runtime(store_url=store_url, work_dir=work, cache_dir=work / "cache", sandbox="local")
    return run_campaign(spec, runtime, engine=engine)


def chromium_args() -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]


def artifacts_dir() -> Path:
    """test-artifacts/ at the repository root (git-ignored)."""
    root = Path(
        os.environ.get("CORRAL_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
    )
    path = root / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path
