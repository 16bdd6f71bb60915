"""Ctrl-C or SIGTERM during `corral run`: the process stops without starting another job,
says how to resume, leaves no command running, and the next run finishes the campaign."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import corral, runtime_args, write_spec

from corral.states import JobState
from corral.store import Store
from corral.testing.cli import CORRAL
from corral.testing.repos import GIT_ENV, make_remote, notes_repo


def job_states(store_url: str) -> dict[str, JobState]:
    store = Store.open(store_url)
    try:
        campaign = store.campaign("slow")
        return {} if campaign is None else {j.name: j.state for j in store.jobs(campaign.id)}
    finally:
        store.close()


def wait_for_change_to_start(store_url: str, marker: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if marker.exists() and JobState.CHANGING in job_states(store_url).values():
            return
        time.sleep(0.2)
    raise AssertionError(f"no change started: {job_states(store_url)}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_stops_at_once_and_resumes(
    signum: signal.Signals, tmp_path: Path
) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, name, notes_repo()) for name in ("docs-a", "docs-b")]
    started, go_on = tmp_path / "started", tmp_path / "go-on"
    # the first run's change hangs (until killed); once go-on exists it is quick
    command = f"touch {started}; test -f {go_on} || sleep 600; echo More. >> NOTES.md"
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="slow",
        command=command,
        targets={"repos": [str(r) for r in remotes]},
        concurrency=1,
    )
    args = ["run", str(spec), *runtime_args(tmp_path)]
    store_url = str(tmp_path / "corral.db")
    proc = subprocess.Popen(
        [CORRAL, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    try:
        wait_for_change_to_start(store_url, started)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)  # not after the 600 s the change would take
    finally:
        proc.kill()

    assert proc.returncode == 128 + signum, stderr
    assert f"`corral run {spec}` resumes it" in " ".join(stderr.split())
    assert sorted(job_states(store_url).values()) == [JobState.CHANGING, JobState.QUEUED]
    no_sleep = subprocess.run(["pgrep", "-f", f"test -f {go_on}"], capture_output=True)
    assert no_sleep.returncode == 1, "the interrupted change command outlived corral"

    go_on.touch()
    again = corral(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(job_states(store_url).values()) == {JobState.PR_OPEN}


BLOCKED_UNWIND = """
import pathlib, sys, time
from corral.cli.render import interruptible
with interruptible("`corral run spec.yaml` resumes it"):
    try:
        pathlib.Path(sys.argv[1]).touch()
        time.sleep(600)
    finally:
        time.sleep(600)  # as a lease release waiting for a store lock a running step holds
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_whose_unwinding_blocks_still_stops(
    signum: signal.Signals, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", BLOCKED_UNWIND, str(ready)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)  # not the 600 s the unwinding would take
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum
    assert f"stopped ({signum.name})" in stderr and "resumes it" in stderr
