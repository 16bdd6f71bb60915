"""A sandbox for a third-party agent's CLI (Claude Code): the agent and every tool it starts
(its Bash, corral's MCP server and Stop hook) run as an unprivileged user that sees the
workspace, its private HOME and read-only system and toolchain folders, with one way out:
the model endpoint.

The model endpoint is reached through the egress proxy (its own allowlist: that endpoint
alone) or, when it is on the host's loopback (a local gateway, the test suite's fake model),
through a relay of exactly that host and port served on a Unix socket and offered inside on
the same port. The agent's SDK starts the wrapper script `cli_wrapper()` writes instead of
the CLI itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import corral
from corral.sandbox.bwrap import (
    HIDDEN_DIRS,
    Mount,
    MountPlan,
    _git_metadata_mounts,
    _private_dir,
    _system_mounts,
    bwrap_command,
    forwarder_command,
    identity_mounts,
    proxy_mounts,
    require_bwrap,
    with_toolchains,
)
from corral.sandbox.egress import (
    EGRESS_PORT,
    SOCKET_PATH,
    EgressPolicy,
    EndpointRelay,
    proxy_env,
    shared_proxy,
)

RELAY_PATH = Path("/run/corral/model.sock")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def _endpoint(model_url: str) -> tuple[str, int]:
    url = urlsplit(model_url)
    if not url.hostname:
        raise ValueError(f"not a model endpoint URL: {model_url!r}")
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


@contextlib.contextmanager
def agent_sandbox(
    cli: Path,
    workspace: Path,
    private: Path,
    model_url: str,
    env: Mapping[str, str],
    *,
    bwrap: str = "bwrap",
) -> Iterator[tuple[Path, dict[str, str]]]:
    """The wrapper script to start instead of `cli`, and the variables to add to its
    environment, while the relay (if any) serves. `private` is the agent's HOME."""
    bwrap_path = require_bwrap(bwrap)
    host, port = _endpoint(model_url)
    sockets: dict[Path, Path] = {}
    ports: dict[int, Path] = {}
    extra: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if _is_loopback(host):
            relay = EndpointRelay(host, port)
            stack.callback(relay.close)
            sockets[RELAY_PATH], ports[port] = relay.socket_path, RELAY_PATH
            extra["NO_PROXY"] = extra["no_proxy"] = f"{host},127.0.0.1,localhost"
        else:
            proxy = shared_proxy(
                EgressPolicy(registries=frozenset(), operator=frozenset({(host, port)}))
            )
            sockets[SOCKET_PATH], ports[EGRESS_PORT] = proxy.socket_path, SOCKET_PATH
            extra.update(proxy_env(EGRESS_PORT, env))
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="corral-agent-sandbox-"))
        state = _private_dir(Path(folder))
        plan = _plan(cli, workspace, private, state, {**env, **extra}, sockets)
        command = [
            *bwrap_command(bwrap_path, plan, workspace),
            "--",
            *forwarder_command(plan, env, ports),
            str(cli),
        ]
        wrapper = state / "agent-cli"
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
        wrapper.chmod(0o500)
        yield wrapper, extra


def _plan(
    cli: Path,
    workspace: Path,
    private: Path,
    state: Path,
    env: Mapping[str, str],
    sockets: Mapping[Path, Path],
) -> MountPlan:
    corral_source = Path(corral.__file__).resolve().parent.parent
    wanted = {Path(sys.prefix), Path(sys.base_prefix), corral_source, cli.resolve().parent}
    system = MountPlan(_system_mounts())
    readable = {p.resolve() for p in wanted if not system.visible(p.resolve())}
    base = MountPlan(
        (
            *system.mounts,
            *(Mount(Path(d), "tmpfs") for d in HIDDEN_DIRS),
            Mount(workspace, "bind"),
            *_git_metadata_mounts(workspace),
            Mount(private, "bind"),
            *(Mount(p, "ro-bind") for p in sorted(readable)),
            *identity_mounts(state, private),
            *proxy_mounts(sockets),
        )
    )
    return with_toolchains(base, env, env, (workspace,))
