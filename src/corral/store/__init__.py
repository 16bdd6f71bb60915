"""The store: campaigns, jobs, sessions and everything they did. See README.md here."""

from __future__ import annotations

import os
from pathlib import Path

from corral.store.store import SessionRecorder, StaleStateError, Store, StoreError

__all__ = ["SessionRecorder", "StaleStateError", "Store", "StoreError", "default_store_url"]


def default_store_url() -> str:
    """$CORRAL_STORE, else a SQLite file in the user's data folder."""
    url = os.environ.get("CORRAL_STORE")
    if url:
        return url
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'corral' / 'corral.db'}"
