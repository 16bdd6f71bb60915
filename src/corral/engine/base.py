"""What an engine is: something that drives every job of a campaign through the pipeline.

Engines: local.py (threads in this process, the default) and temporal/ (workflows across
machines). Both decide with `pipeline.machine.decide` and admit jobs and pace steps through
admission.py. Neither holds state the store does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from corral.pipeline.context import CampaignContext
from corral.store import Store
from corral.store.records import Campaign, Job

OnChange = Callable[[Job], None]


class Engine(Protocol):
    name: str

    def run(self, ctx: CampaignContext, on_change: OnChange | None = None) -> None:
        """Drive every live job until it is done or waits (for approval, review or CI)."""
        ...

    def binding(self) -> dict[str, Any]:
        """How another process reaches this engine (recorded with the campaign; no secrets)."""
        ...

    @classmethod
    def from_binding(cls, binding: dict[str, Any], **options: Any) -> Engine:
        """The engine a campaign recorded (`binding()`), to drive it again."""
        ...

    @staticmethod
    def wake(binding: dict[str, Any], store: Store, campaign: Campaign, job: Job | None) -> str:
        """Tell the engine recorded as `binding` that a person decided on `job` (or, with
        None, resumed the campaign); returns what happened, in one line. Never raises for an
        unreachable engine."""
        ...
