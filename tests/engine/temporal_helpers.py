"""Helpers for the Temporal engine tests: the pace of the engine, the worker starter."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

PACE_ENV = {
    "CORRAL_TEMPORAL_HEARTBEAT_TIMEOUT_S": "5",
    "CORRAL_TEMPORAL_WORKER_LOST_AFTER_S": "60",
    "CORRAL_TEMPORAL_APPROVAL_RECHECK_S": "3600",
    "CORRAL_TEMPORAL_CI_SLOT_RECHECK_S": "1",
}
"""Set for every Temporal test: lost workers are noticed in seconds; held jobs never re-read
the store on their own, so only the approval signal can release them within a test."""

StartWorker = Callable[..., subprocess.Popen[bytes]]
