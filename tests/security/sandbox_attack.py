"""Shared by the sandbox's adversarial tests: hostile repositories, fake secrets, and
`corral verify --sandbox bwrap` run on them as an operator would, in a separate process."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from corral.config import VerifierSettings
from corral.sandbox import BwrapRunner
from corral.testing.cli import run_corral
from corral.testing.repos import init_repo
from corral.verifiers.registry import BUILTIN

FAKE_SECRETS = {
    "GITHUB_TOKEN": "ghp_fakeForgeToken0001",
    "ANTHROPIC_API_KEY": "sk-ant-fakeModelKey0002",
    "CORRAL_DASHBOARD_TOKEN": "fakeDashboardToken0003",
    "PIP_INDEX_URL": "https://fakeIndexToken0004@pypi.org/simple",
    "GOPROXY": "https://fakeProxyUser0005:fakeProxyPass0006@proxy.golang.org,direct",
    "MAVEN_OPTS": "-Xmx512m -Dhttps.proxyPassword=fakeMavenPassword0007",
    "npm_config_registry": "https://fakeNpmUser0008:fakeNpmPass0009@registry.npmjs.org/",
}
"""Credentials as an operator's environment holds them: by name and inside allowed values."""
SECRET_VALUES = (
    "ghp_fakeForgeToken0001",
    "sk-ant-fakeModelKey0002",
    "fakeDashboardToken0003",
    "fakeIndexToken0004",
    "fakeProxyUser0005",
    "fakeProxyPass0006",
    "fakeMavenPassword0007",
    "fakeNpmUser0008",
    "fakeNpmPass0009",
)


def only(name: str) -> dict[str, list[str]]:
    return {"disable": sorted(set(BUILTIN) - {name})}


def hostile_repo(root: Path, files: Mapping[str, str], verifier: str) -> Path:
    """A committed repository with `files`, whose `.corral.yaml` runs only `verifier`."""
    config = {".corral.yaml": json.dumps({"verifiers": only(verifier)})}
    return init_repo(root, {**files, **config})


def corral_verify(
    repo: Path, cache_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`corral verify --json --sandbox bwrap` with the fake secrets in its environment."""
    args = ("verify", repo, "--json", "--sandbox", "bwrap", "--cache-dir", cache_dir)
    return run_corral(*args, env={**FAKE_SECRETS, **(env or {})}, timeout=timeout)


def sandbox_home(repo: Path, cache_dir: Path) -> Path:
    """The sandbox's private HOME for `repo`: where a hostile test leaves its report (the
    verifiers remove what a check writes into the checkout)."""
    return BwrapRunner(repo, cache_dir).home


def settings_for(verifier: str) -> VerifierSettings:
    return VerifierSettings(disable=only(verifier)["disable"])


@dataclass
class Listener:
    """A server on the host's loopback and one on a host abstract Unix socket, recording
    every connection: a hostile command must reach neither."""

    port: int
    abstract_name: str
    connections: list[str] = field(default_factory=list)


@contextmanager
def host_listeners() -> Iterator[Listener]:
    tcp = socket.create_server(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = f"corral-test-{uuid.uuid4().hex}"
    abstract.bind("\0" + name)
    abstract.listen()
    listener = Listener(tcp.getsockname()[1], name)

    def serve(server: socket.socket, label: str) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            listener.connections.append(label)
            conn.close()

    threads = [
        threading.Thread(target=serve, args=(tcp, "tcp"), daemon=True),
        threading.Thread(target=serve, args=(abstract, "abstract"), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield listener
    finally:
        tcp.close()
        abstract.close()
        for s in (tcp, abstract):
            s.close()


GO_MOD = "module example.com/attack\n\ngo 1.22\n"
