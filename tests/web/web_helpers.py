"""Helpers for the dashboard tests: a fast real campaign (no toolchain needed) on the local forge,
and what the fixtures in conftest.py hand the tests.

Not a conftest.py: the web tests import this module by name (a test importing `conftest`
gets whichever folder's conftest was imported last).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from corral.engine.base import Engine
from corral.engine.campaign import run_campaign
from corral.pipeline.context import Runtime
from corral.pipeline.summary import CampaignSummary
from corral.spec import CampaignSpec
from corral.store import Store
from corral.store.records import Job
from corral.testing.repos import make_remote, notes_repo

TOKEN = "test-dashboard-token-0123456789"


@dataclass(frozen=True)
class Demo:
    store_url: str
    directory: Path
    summary: CampaignSummary

    def job(self, name: str) -> Job:
        return next(line.job for line in self.summary.lines if line.job.name == name)


@dataclass
class HeldCampaign:
    """A campaign whose engine keeps running while its one job waits for approval."""

    job_id: int
    thread: threading.Thread

    def wait_until_done(self, timeout_s: float = 120) -> None:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the engine did not finish after the decision"


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


def check_operation(operation: schemathesis.APIOperation) -> None:
    """The API operation with generated inputs (writes with the token): no server error, and
    each response matches the documented schema and status codes."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if operation.method.upper() == "POST" else None

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers)

    check()


def plan_mix_campaign(store: Store, forge: Path, name: str) -> int:
    """A recorded campaign (never run) over a mixed set of local repositories: one ready,
    one no verifier applies to, one that does not clone, one `exclude_has_file` skips."""
    remotes = [
        make_remote(forge, "ready", notes_repo()),
        make_remote(forge, "plain", {"README.txt": "nothing to build\n"}),
        forge / "gone.git",
        make_remote(forge, "legacy", {**notes_repo(), "LEGACY": "old layout\n"}),
    ]
    spec = notes_spec(name, remotes, targets={
        "repos": [str(r) for r in remotes], "exclude_has_file": ["LEGACY"]
    })  # fmt: skip
    return store.save_campaign(name, spec.model_dump(mode="json")).id
