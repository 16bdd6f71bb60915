"""What an engine is: something that drives every job of a campaign through the pipeline.

Engines: local.py (threads in this process, the default); temporal/ (a worker fleet)
implements the same protocol with `pipeline.machine.decide` in its workflow and the
`pipeline.steps` functions as its activities. Neither holds state the store does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from corral.pipeline.context import CampaignContext
from corral.store.records import Job

OnChange = Callable[[Job], None]


class Engine(Protocol):
    def run(self, ctx: CampaignContext, on_change: OnChange | None = None) -> None:
        """Drive every live job until it is done or waits (for approval, review or CI)."""
        ...
