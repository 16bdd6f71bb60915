"""Helpers for the Temporal engine tests: the environment of corral processes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from campaign_helpers import GIT_ENV

PACE_ENV = {
    "CORRAL_TEMPORAL_HEARTBEAT_TIMEOUT_S": "5",
    "CORRAL_TEMPORAL_WORKER_LOST_AFTER_S": "60",
    "CORRAL_TEMPORAL_APPROVAL_RECHECK_S": "3600",
}
"""Lost workers are noticed in seconds; held jobs never re-read the store on their own, so
only the approval signal can release them within a test."""

StartWorker = Callable[..., subprocess.Popen[bytes]]


def corral_env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV, **PACE_ENV, "COLUMNS": "200"}
