"""The campaign lease in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from corral.store import Store
from corral.store.lease import CampaignLease, LeaseHeldError


def test_a_second_holder_is_refused_with_who_holds_it(new_store: Callable[[], str]) -> None:
    store = Store.open(new_store())
    try:
        with CampaignLease(store, "bump"):
            with pytest.raises(LeaseHeldError) as held:
                CampaignLease(store, "bump").__enter__()
            with CampaignLease(store, "other"):  # another campaign is free
                pass
        message = str(held.value)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        assert "since " in message and "--wait-for-lease" in message
        with CampaignLease(store, "bump"):  # released on exit
            pass
    finally:
        store.close()


def test_a_waiting_holder_gets_the_lease_when_it_is_freed(new_store: Callable[[], str]) -> None:
    store = Store.open(new_store())
    order: list[str] = []
    try:
        first = CampaignLease(store, "bump").__enter__()

        def second() -> None:
            with CampaignLease(store, "bump", wait_s=math.inf, poll_s=0.05):
                order.append("second")

        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.5)
        order.append("first done")
        first.__exit__(None, None, None)
        waiter.join(timeout=30)
        assert order == ["first done", "second"]
        with (
            pytest.raises(LeaseHeldError, match="did not free it in time"),
            CampaignLease(store, "bump"),
            CampaignLease(store, "bump", wait_s=0.2),
        ):
            pass
    finally:
        store.close()


def test_the_lease_of_a_dead_process_is_taken_over(new_store: Callable[[], str]) -> None:
    store = Store.open(new_store())
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        store.take_lease("bump", "dead-token", socket.gethostname(), int(dead.stdout), 3600)
        with CampaignLease(store, "bump") as lease:
            assert store.take_lease("bump", "x", "h", 1, 3600).token == lease.token
    finally:
        store.close()


def test_a_lease_without_heartbeat_expires_after_its_ttl(new_store: Callable[[], str]) -> None:
    store = Store.open(new_store())
    try:
        store.take_lease("bump", "far-away", "another-host", 1, ttl_s=3600)
        with pytest.raises(LeaseHeldError, match="on another-host"):
            CampaignLease(store, "bump", ttl_s=3600).__enter__()
        time.sleep(1.2)
        with CampaignLease(store, "bump", ttl_s=1) as lease:
            assert not lease.lost.is_set()
    finally:
        store.close()


def test_the_heartbeat_keeps_a_live_lease(new_store: Callable[[], str]) -> None:
    store = Store.open(new_store())
    try:
        with CampaignLease(store, "bump", ttl_s=0.6) as lease:
            time.sleep(1.5)  # past the TTL: only the heartbeat keeps it
            assert store.take_lease("bump", "y", "another-host", 1, ttl_s=0.6).token == lease.token
            assert not lease.lost.is_set()
    finally:
        store.close()
