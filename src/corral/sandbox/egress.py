"""The only way out of a prepare step's sandbox: an allowlisting HTTP(S) proxy on the host.

A prepare step (network="open") gets its own network namespace, empty but for loopback. The
proxy listens on a Unix socket in a private host folder, bound into the sandbox; a forwarder
inside (forwarder.py) offers it on 127.0.0.1:EGRESS_PORT, and HTTPS_PROXY & co. point there.
It accepts `CONNECT host:port` and plain-HTTP requests in absolute form, and only:

- to a host name on the allowlist (each ecosystem's public registries, the mirrors named in
  the variables corral passes to the sandbox, and `CORRAL_EGRESS_ALLOW`), on its ports;
- to the addresses the name resolves to, checked before connecting to exactly that address
  (a name that re-resolves to 127.0.0.1 later gains nothing): never loopback, link-local
  (cloud metadata), multicast, unspecified or reserved addresses; private ones only for a
  host the operator named.

Abstract Unix sockets belong to a network namespace, so the host's are out of reach too.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import logging
import os
import selectors
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

EGRESS_PORT = 3128
SOCKET_PATH = Path("/run/corral/egress.sock")
"""Where the proxy's socket is inside the sandbox."""
FORWARDER_PATH = Path("/run/corral/forwarder.py")
FORWARDER_SOURCE = Path(__file__).with_name("forwarder.py")

REGISTRY_HOSTS = frozenset(
    {
        # Python
        "pypi.org",
        "files.pythonhosted.org",
        # Node
        "registry.npmjs.org",
        "registry.yarnpkg.com",
        "repo.yarnpkg.com",
        "nodejs.org",  # node-gyp's headers for native modules
        # Rust
        "crates.io",
        "index.crates.io",
        "static.crates.io",
        "static.rust-lang.org",
        # Go
        "proxy.golang.org",
        "sum.golang.org",
        # Java
        "repo.maven.apache.org",
        "repo1.maven.org",
        "plugins.gradle.org",
        "plugins-artifacts.gradle.org",
        "services.gradle.org",
        "downloads.gradle.org",
        "downloads.gradle-dn.com",
        "maven.google.com",
        "dl.google.com",
    }
)
"""Each ecosystem's public registry: what prepare may reach without any configuration."""
MIRROR_VARIABLES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
    "YARN_REGISTRY",
    "YARN_NPM_REGISTRY_SERVER",
    "COREPACK_NPM_REGISTRY",
    "GOPROXY",
    "GOSUMDB",
)
"""The operator's mirrors, passed to the sandbox already (env.py): their hosts are allowed."""
ALLOW_VARIABLE = "CORRAL_EGRESS_ALLOW"
"""More hosts, `host` or `host:port`, separated by commas or spaces (a Maven mirror...)."""
DEFAULT_PORTS = frozenset({80, 443})
_nets = functools.partial(map, ipaddress.ip_network)
NEVER = tuple(
    _nets(
        (
            "0.0.0.0/8",
            "127.0.0.0/8",
            "169.254.0.0/16",  # link-local: cloud metadata (169.254.169.254)
            "192.0.0.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "::/128",
            "::1/128",
            "fe80::/10",
            "ff00::/8",
        )
    )
)
"""Never reachable, whoever named the host: loopback, link-local, multicast, reserved."""
PRIVATE = tuple(
    _nets(
        (
            "10.0.0.0/8",
            "100.64.0.0/10",  # shared address space (100.100.100.200 is a metadata service)
            "172.16.0.0/12",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "fc00::/7",  # unique local (fd00:ec2::254 is a metadata service)
        )
    )
)
"""Reachable only for a host the operator named (an internal mirror), never for a registry."""


class EgressRefusedError(Exception):
    """The proxy will not connect there; the message says why."""


@dataclass(frozen=True)
class EgressPolicy:
    """Which host names (and ports) prepare steps may reach."""

    registries: frozenset[str] = REGISTRY_HOSTS
    """Public hosts: reached only at global addresses, on ports 80 and 443."""
    operator: frozenset[tuple[str, int | None]] = frozenset()
    """The operator's hosts (and port, None for 80 and 443): private addresses allowed."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EgressPolicy:
        hosts: set[tuple[str, int | None]] = set()
        for name in MIRROR_VARIABLES:
            hosts.update(_url_hosts(env.get(name, "")))
        for item in env.get(ALLOW_VARIABLE, "").replace(",", " ").split():
            hosts.update(_url_hosts(item if "://" in item else f"//{item}"))
        return cls(operator=frozenset(hosts))

    def check_host(self, host: str, port: int) -> bool:
        """Whether `host:port` is allowed, and whether it may be at a private address.

        Raises EgressRefusedError when the host or port is not on the allowlist."""
        host = host.lower().rstrip(".")
        if (host, port) in self.operator or (
            port in DEFAULT_PORTS and (host, None) in self.operator
        ):
            return True
        if host in self.registries and port in DEFAULT_PORTS:
            return False
        raise EgressRefusedError(f"{host}:{port} is not on the egress allowlist")


def _url_hosts(value: str) -> Iterable[tuple[str, int | None]]:
    for part in value.replace(",", " ").replace("|", " ").split():
        if part in ("direct", "off") or ("://" not in part and not part.startswith("//")):
            if "." in part and "/" not in part and "+" not in part:  # GOSUMDB=sum.example.com
                yield part.lower(), None
            continue
        with contextlib.suppress(ValueError):
            url = urlsplit(part)
            if url.hostname:
                yield url.hostname.lower().rstrip("."), url.port


def address_allowed(ip: str, private_ok: bool) -> bool:
    """Whether the proxy may connect to this address (after resolving, before connecting)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_allowed(str(embedded), private_ok)
    if any(address in net for net in NEVER if net.version == address.version):
        return False
    return private_ok or not any(address in n for n in PRIVATE if n.version == address.version)


def open_upstream(policy: EgressPolicy, host: str, port: int) -> socket.socket:
    """A connection to an allowed address of an allowed host."""
    private_ok = policy.check_host(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EgressRefusedError(f"{host} does not resolve: {exc}") from exc
    refused = []
    for family, kind, proto, _, sockaddr in infos:
        if not address_allowed(str(sockaddr[0]), private_ok):
            refused.append(str(sockaddr[0]))
            continue
        sock = socket.socket(family, kind, proto)
        sock.settimeout(30)
        try:
            sock.connect(sockaddr)  # the very address just checked: no second lookup
        except OSError:
            sock.close()
            continue
        sock.settimeout(None)
        return sock
    if refused:
        raise EgressRefusedError(f"{host} resolves to a non-public address ({refused[0]})")
    raise EgressRefusedError(f"cannot connect to {host}:{port}")


class _Handler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        try:
            head, rest = _read_head(client)
            upstream, first = self._open(head)
        except EgressRefusedError as exc:
            log.warning("egress refused: %s", exc)
            _reply(client, 403, str(exc))
            return
        except (OSError, ValueError) as exc:
            _reply(client, 400, f"bad proxy request: {exc}")
            return
        with upstream:
            if first is None:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(first)
            if rest:
                upstream.sendall(rest)
            _relay(client, upstream)

    def _open(self, head: bytes) -> tuple[socket.socket, bytes | None]:
        """The upstream connection and, for plain HTTP, the request head to send on it."""
        request_line, _, headers = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            return open_upstream(self.server.policy, host.strip("[]"), int(port)), None
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"not a proxy request: {request_line!r}")
        upstream = open_upstream(self.server.policy, url.hostname, url.port or 80)
        path = url.path or "/"
        kept = [
            line
            for line in headers.split(b"\r\n")
            if line and not line.lower().startswith((b"proxy-", b"connection:"))
        ]
        origin = f"{method} {path}{'?' + url.query if url.query else ''} {version}".encode()
        return upstream, b"\r\n".join([origin, *kept, b"Connection: close", b"", b""])


def _read_head(client: socket.socket, limit: int = 65536) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) > limit:
            raise ValueError("incomplete request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _reply(client: socket.socket, status: int, message: str) -> None:
    reason = {403: "Forbidden", 400: "Bad Request"}[status]
    body = f"corral egress proxy: {message}\n".encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with contextlib.suppress(OSError):
        client.sendall(head.encode() + body)


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until both sides have finished sending."""
    peers = {a: b, b: a}
    open_sides = 2
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while open_sides:
            events = selector.select(timeout=300)
            if not events:
                return  # idle for five minutes
            for key, _ in events:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    chunk = source.recv(65536)
                    if chunk:
                        peers[source].sendall(chunk)
                        continue
                except OSError:
                    return
                selector.unregister(source)
                open_sides -= 1
                with contextlib.suppress(OSError):
                    peers[source].shutdown(socket.SHUT_WR)


class _ProxyServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, policy: EgressPolicy) -> None:
        self.policy = policy
        super().__init__(path, _Handler)


class EgressProxy:
    """The proxy, serving on a Unix socket in a private folder until `close()`."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._dir = Path(tempfile.mkdtemp(prefix="corral-egress-"))
        self.socket_path = self._dir / "egress.sock"
        self._server = _ProxyServer(str(self.socket_path), policy)
        os.chmod(self.socket_path, 0o600)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="corral-egress", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)


_lock = threading.Lock()


@functools.cache
def _proxy_for(policy: EgressPolicy) -> EgressProxy:
    proxy = EgressProxy(policy)
    atexit.register(proxy.close)
    return proxy


def shared_proxy(policy: EgressPolicy) -> EgressProxy:
    """One proxy per policy per process, started on first use."""
    with _lock:
        return _proxy_for(policy)


def proxy_env(port: int, env: Mapping[str, str]) -> dict[str, str]:
    """What makes each package manager use the proxy at 127.0.0.1:port."""
    url = f"http://127.0.0.1:{port}"
    java = (
        f"-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={port} "
        f"-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort={port} -Dhttp.nonProxyHosts="
    )
    proxies = {
        name: url
        for name in (
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "npm_config_proxy",
            "npm_config_https_proxy",
            "YARN_HTTP_PROXY",
            "YARN_HTTPS_PROXY",
            "CARGO_HTTP_PROXY",
        )
    }
    return {
        **proxies,
        "NO_PROXY": "",
        "no_proxy": "",
        "ALL_PROXY": "",
        "all_proxy": "",
        "MAVEN_OPTS": f"{env.get('MAVEN_OPTS', '')} {java}".strip(),
        "GRADLE_OPTS": f"{env.get('GRADLE_OPTS', '')} {java}".strip(),
    }


class _RelayHandler(socketserver.BaseRequestHandler):
    server: _RelayServer

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.server.target, timeout=30)
        except OSError as exc:
            log.warning("cannot reach %s:%d: %s", *self.server.target, exc)
            return
        with upstream:
            upstream.settimeout(None)
            _relay(self.request, upstream)


class _RelayServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, target: tuple[str, int]) -> None:
        self.target = target
        super().__init__(path, _RelayHandler)


class EndpointRelay:
    """One fixed endpoint (host, port) of the host's network, served on a Unix socket: how a
    sandbox reaches a model endpoint on the host's loopback, and nothing else there."""

    def __init__(self, host: str, port: int) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="corral-relay-"))
        self.socket_path = self._dir / "relay.sock"
        self._server = _RelayServer(str(self.socket_path), (host, port))
        os.chmod(self.socket_path, 0o600)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)
