"""A campaign's lease: one run (a `corral run`, an engine) works a campaign at a time.

    with CampaignLease(store, "bump-go", wait_s=None):   # LeaseHeldError when taken
        engine.run(ctx)

The holder writes a heartbeat every `ttl_s / 3` seconds from a background thread; a lease
whose heartbeat is older than `ttl_s`, or whose process is gone from this host, is stale
and the next run takes it, so a killed run never locks its campaign for good.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

from corral.store import records as r
from corral.store.store import Store, StoreError

DEFAULT_TTL_S = 60.0
POLL_S = 1.0


class LeaseHeldError(StoreError):
    """Another run holds the campaign's lease (and the caller would not wait)."""


class CampaignLease:
    def __init__(
        self,
        store: Store,
        campaign: str,
        *,
        wait_s: float | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        poll_s: float = POLL_S,
    ) -> None:
        """wait_s: None to refuse at once when the lease is held; math.inf to wait for good."""
        self.store = store
        self.campaign = campaign
        self.wait_s = wait_s
        self.ttl_s = ttl_s
        self.poll_s = poll_s
        self.token = uuid.uuid4().hex
        self.lost = threading.Event()
        """Set when a heartbeat found the lease taken by another run (ours had gone stale)."""
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="corral-lease")

    def __enter__(self) -> CampaignLease:
        give_up = time.monotonic() + (self.wait_s if self.wait_s is not None else 0.0)
        while True:
            lease = self.store.take_lease(
                self.campaign, self.token, socket.gethostname(), os.getpid(), self.ttl_s
            )
            if lease.token == self.token:
                break
            if self.wait_s is None or time.monotonic() >= give_up:
                raise LeaseHeldError(held_message(lease, waited=self.wait_s is not None))
            time.sleep(max(0.01, min(self.poll_s, give_up - time.monotonic())))
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat.is_alive():
            self._beat.join()
        self.store.release_lease(self.campaign, self.token)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                if not self.store.renew_lease(self.campaign, self.token):
                    self.lost.set()
                    return
            except StoreError:
                continue  # a store briefly out of reach: the next beat tries again


def held_message(lease: r.Lease, *, waited: bool = False) -> str:
    """One line: who holds the campaign, since when, and what to do."""
    since = lease.acquired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    beat = (datetime.now(UTC) - lease.heartbeat_at.astimezone(UTC)).total_seconds()
    advice = "it did not free it in time" if waited else "wait with --wait-for-lease, or stop it"
    return (
        f"campaign {lease.campaign!r} is being run by pid {lease.pid} on {lease.host} "
        f"since {since} (last heartbeat {max(beat, 0):.0f}s ago): {advice}"
    )
