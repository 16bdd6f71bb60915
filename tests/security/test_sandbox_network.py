"""Hostile repository vs the host's network: an npm `postinstall` and an in-tree PEP 517
backend, run by `corral verify`'s prepare step, try the host's loopback, a host abstract Unix
socket, and the egress proxy itself towards loopback and cloud metadata. A real registry
install in the same step must still work."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sandbox_attack import Listener, corral_verify, host_listeners, hostile_repo, sandbox_home

from corral.sandbox import BwrapRunner
from corral.sandbox.egress import (
    EgressPolicy,
    EgressRefusedError,
    address_allowed,
    open_upstream,
)

NODE_ATTACK = """\
const net = require("net");
const fs = require("fs");
const results = [];
function attempt(label, options, send) {
  return new Promise((resolve) => {
    const s = net.connect(options);
    s.setTimeout(5000);
    let answer = "";
    s.on("connect", () => {
      if (!send) { results.push("ESCAPED " + label); s.destroy(); resolve(); return; }
      s.write(send);
    });
    s.on("data", (d) => { answer += d; });
    s.on("end", () => {
      results.push((answer.startsWith("HTTP/1.1 200") ? "ESCAPED " : "blocked ") + label);
      resolve();
    });
    s.on("error", (e) => { results.push("blocked " + label + " " + e.code); resolve(); });
    s.on("timeout", () => { results.push("blocked " + label); s.destroy(); resolve(); });
  });
}
(async () => {
  const proxy = { host: "127.0.0.1", port: 3128 };
  await attempt("host loopback", { host: "127.0.0.1", port: PORT });
  await attempt("host abstract socket", { path: "\\0ABSTRACT" });
  await attempt("proxy to loopback", proxy, "CONNECT 127.0.0.1:PORT HTTP/1.1\\r\\n\\r\\n");
  await attempt("proxy to localhost", proxy, "CONNECT localhost:PORT HTTP/1.1\\r\\n\\r\\n");
  await attempt("proxy to metadata", proxy, "GET http://169.254.169.254/ HTTP/1.1\\r\\n\\r\\n");
  await attempt("proxy to elsewhere", proxy, "CONNECT example.com:443 HTTP/1.1\\r\\n\\r\\n");
  fs.writeFileSync(process.env.HOME + "/attack-report.txt", results.join("\\n") + "\\n");
})();
"""

PEP517_BACKEND = """\
import os
import socket

results = []
def attempt(label, family, address, send=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(address)
        if send is None:
            results.append("ESCAPED " + label)
            return
        s.sendall(send)
        answer = s.recv(100)
        results.append(("ESCAPED " if answer.startswith(b"HTTP/1.1 200") else "blocked ") + label)
    except OSError as exc:
        results.append(f"blocked {label} {exc}")
    finally:
        s.close()

attempt("host loopback", socket.AF_INET, ("127.0.0.1", PORT))
attempt("host abstract socket", socket.AF_UNIX, "\\0ABSTRACT")
attempt("proxy to loopback", socket.AF_INET, ("127.0.0.1", 3128),
        b"CONNECT 127.0.0.1:PORT HTTP/1.1\\r\\n\\r\\n")
with open(os.environ["HOME"] + "/attack-report.txt", "w") as report:
    report.write("\\n".join(results) + "\\n")
raise SystemExit("hostile backend done")
"""


def node_files(listener: Listener) -> dict[str, str]:
    package = {
        "name": "hostile",
        "version": "1.0.0",
        "scripts": {"postinstall": "node attack.js"},
        "dependencies": {"is-number": "7.0.0"},
    }
    attack = NODE_ATTACK.replace("PORT", str(listener.port))
    attack = attack.replace("ABSTRACT", listener.abstract_name)
    return {"package.json": json.dumps(package), "attack.js": attack}


def python_files(listener: Listener) -> dict[str, str]:
    backend = PEP517_BACKEND.replace("PORT", str(listener.port))
    backend = backend.replace("ABSTRACT", listener.abstract_name)
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "hostile"\nversion = "1.0"\n'
    )
    return {"pyproject.toml": pyproject, "backend.py": backend}


def assert_contained(report: str, listener: Listener) -> None:
    assert "blocked host loopback" in report, report
    assert "ESCAPED" not in report, report
    assert listener.connections == []


@pytest.mark.slow
def test_npm_postinstall_reaches_only_the_registry(tmp_path: Path) -> None:
    with host_listeners() as listener:
        repo = hostile_repo(tmp_path / "hostile", node_files(listener), "node")
        done = corral_verify(repo, tmp_path / "cache")
        report = (sandbox_home(repo, tmp_path / "cache") / "attack-report.txt").read_text()
        assert_contained(report, listener)
    assert report.count("blocked proxy to") == 4, report
    assert (repo / "node_modules" / "is-number" / "package.json").is_file(), done.stdout
    assert done.returncode in (0, 1), done.stderr


@pytest.mark.slow
def test_pep517_backend_reaches_nothing_on_the_host(tmp_path: Path) -> None:
    with host_listeners() as listener:
        repo = hostile_repo(tmp_path / "hostile", python_files(listener), "python")
        done = corral_verify(repo, tmp_path / "cache")
        report = (sandbox_home(repo, tmp_path / "cache") / "attack-report.txt").read_text()
        assert_contained(report, listener)
    assert done.returncode == 1, done.stdout  # the failed install is a recorded failure


@pytest.mark.parametrize("share_host_network", [False, True])
def test_the_network_namespace_is_what_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share_host_network: bool
) -> None:
    """Taken away (prepare sharing the host's network, as before), the attack gets through."""
    if share_host_network:
        original = BwrapRunner.bwrap_args
        monkeypatch.setattr(
            BwrapRunner,
            "bwrap_args",
            lambda self, plan, cwd: [*original(self, plan, cwd), "--share-net"],
        )
    with host_listeners() as listener:
        workspace = tmp_path / "ws"
        workspace.mkdir()
        (workspace / "backend.py").write_text(python_files(listener)["backend.py"])
        runner = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")
        runner.run(["python3", "backend.py"], cwd=workspace, network="open")
        report = (runner.home / "attack-report.txt").read_text()
        if share_host_network:
            assert "ESCAPED host loopback" in report
            assert "ESCAPED host abstract socket" in report
        else:
            assert_contained(report, listener)


@pytest.mark.parametrize(
    ("ip", "private_ok", "allowed"),
    [
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("::ffff:127.0.0.1", True, False),
        ("169.254.169.254", True, False),
        ("fe80::1", True, False),
        ("0.0.0.0", True, False),
        ("10.1.2.3", False, False),
        ("192.168.1.1", False, False),
        ("100.100.100.200", False, False),
        ("fd00:ec2::254", False, False),
        ("10.1.2.3", True, True),
        ("151.101.0.223", False, True),
        ("2a04:4e42::223", False, True),
    ],
)
def test_resolved_addresses_are_checked(ip: str, private_ok: bool, allowed: bool) -> None:
    assert address_allowed(ip, private_ok) is allowed


def test_an_allowed_name_that_resolves_to_loopback_is_refused() -> None:
    """DNS rebinding: the name is on the list, the address it resolves to is not."""
    server = socket.create_server(("127.0.0.1", 0))
    try:
        policy = EgressPolicy(registries=frozenset({"localhost"}))
        with pytest.raises(EgressRefusedError, match="non-public address"):
            open_upstream(policy, "localhost", 443)
        operator = EgressPolicy(operator=frozenset({("localhost", server.getsockname()[1])}))
        with pytest.raises(EgressRefusedError, match="non-public address"):
            open_upstream(operator, "localhost", server.getsockname()[1])
    finally:
        server.close()


def test_the_allowlist_holds_registries_and_the_operators_mirrors() -> None:
    policy = EgressPolicy.from_env(
        {
            "PIP_INDEX_URL": "https://mirror.example.com:8443/simple",
            "GOPROXY": "https://goproxy.example.org,direct",
            "CORRAL_EGRESS_ALLOW": "maven.example.net, nexus.example.net:8081",
        }
    )
    assert policy.check_host("pypi.org", 443) is False
    assert policy.check_host("mirror.example.com", 8443) is True
    assert policy.check_host("goproxy.example.org", 443) is True
    assert policy.check_host("nexus.example.net", 8081) is True
    for host, port in [("example.com", 443), ("pypi.org", 22), ("mirror.example.com", 443)]:
        with pytest.raises(EgressRefusedError):
            policy.check_host(host, port)
