"""The bubblewrap sandbox, checked from the host with real processes, sockets and files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.sandbox import BwrapRunner, SandboxUnavailableError, ToolMissingError
from corral.sandbox.base import CommandResult, Limits, NetworkPolicy
from corral.verifiers.base import cache_env


@pytest.fixture(scope="module")
def sandbox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="module")
def runner(sandbox_root: Path) -> BwrapRunner:
    workspace = sandbox_root / "workspace"
    workspace.mkdir()
    return BwrapRunner(workspace, sandbox_root / "cache", home_root=sandbox_root / "homes")


def run(
    runner: BwrapRunner,
    script: str,
    network: NetworkPolicy = "none",
    limits: Limits | None = None,
) -> CommandResult:
    return runner.run(
        ["python3", "-c", script], cwd=runner.workspace, network=network, limits=limits
    )


def sh(runner: BwrapRunner, script: str, limits: Limits | None = None) -> CommandResult:
    return runner.run(["sh", "-c", script], cwd=runner.workspace, limits=limits)


def host_pids_running(marker: str) -> list[int]:
    """Host processes whose command line contains `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(proc.name))
    return found


def unique_sleep() -> str:
    """A `sleep` argument no other process on the machine uses: 1000.<random digits>."""
    return f"1000.{uuid.uuid4().int % 10**9:09d}"


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on the host's 127.0.0.1 that records what clients send."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                received.append(conn.recv(100))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    server.close()
    thread.join(timeout=5)


CONNECT = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"hello")
except OSError as exc:
    sys.exit(f"no connection: {{exc}}")
print("connected")
"""


@pytest.mark.parametrize("network", ["none", "open"])
def test_host_loopback_is_never_reachable(
    runner: BwrapRunner, loopback_server: tuple[int, list[bytes]], network: NetworkPolicy
) -> None:
    """Even a prepare step ("open") has its own network namespace: only the egress proxy."""
    port, received = loopback_server
    result = run(runner, CONNECT.format(port=port), network=network)
    assert not result.ok
    assert "no connection" in result.stderr, result.output
    assert received == []


FETCH = """
import urllib.request
print(urllib.request.urlopen("https://pypi.org/simple/six/", timeout=60).status)
"""


def test_names_resolve_only_through_the_egress_proxy(runner: BwrapRunner) -> None:
    lookup = "import socket; print(socket.getaddrinfo('pypi.org', 443)[0][4][0])"
    for network in ("none", "open"):
        assert not run(runner, lookup, network=network).ok
    assert not sh(runner, "getent hosts pypi.org").ok
    try:
        socket.getaddrinfo("pypi.org", 443)
    except OSError:
        pytest.skip("the host itself cannot resolve names, so 'open' cannot be told apart")
    assert not run(runner, FETCH).ok
    fetched = run(runner, FETCH, network="open")
    assert fetched.stdout.strip() == "200", fetched.output


def test_writes_reach_only_the_workspace(runner: BwrapRunner, sandbox_root: Path) -> None:
    name = f"escape-{uuid.uuid4().hex}"
    targets = [
        runner.workspace.parent / name,
        Path("/usr") / name,
        Path.home() / name,
        Path("/var/tmp") / name,
        runner.workspace / name,
        Path("/tmp") / name,
    ]
    script = "; ".join(f"(echo x > {t}) 2>/dev/null" for t in targets)
    # with every capability it could remount / read-write; it must have none
    result = sh(runner, f"mount -o remount,rw,bind / 2>/dev/null; {script}; true")
    assert result.ok, result.output
    written = [t for t in targets if t.exists()]
    for target in written:
        target.unlink()
    assert written == [runner.workspace / name]


def test_host_processes_are_invisible(runner: BwrapRunner) -> None:
    marker = unique_sleep()
    host_sleep = subprocess.Popen(["sleep", marker])
    try:
        result = sh(runner, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    finally:
        host_sleep.kill()
        host_sleep.wait()
    assert result.ok, result.output
    assert "cat /proc" in result.stdout  # it does see its own processes
    assert marker not in result.stdout


def test_secrets_never_reach_the_sandbox(
    sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-parent")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-parent")
    monkeypatch.setenv("SOME_UNLISTED_SETTING", "unlisted-parent")
    workspace = sandbox_root / "secrets"
    workspace.mkdir()
    runner = BwrapRunner(workspace, sandbox_root / "cache", home_root=sandbox_root / "homes")
    caller_env = {
        **cache_env(runner.cache_dir),
        "GITHUB_TOKEN": "ghp-caller",
        "OPENAI_API_KEY": "sk-caller",
        "npm_config__auth": "npm-caller",
        "PIP_INDEX_URL": "https://user:pw-caller@pypi.example/simple",
        "CORRAL_HARMLESS": "kept",
    }
    result = runner.run(["env"], cwd=workspace, env=caller_env)
    assert result.ok, result.output
    for leaked in ("parent", "caller"):
        assert leaked not in result.stdout
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert seen["CORRAL_HARMLESS"] == "kept"
    assert seen["GOMODCACHE"] == caller_env["GOMODCACHE"]
    assert seen["HOME"] == str(runner.home)


@pytest.mark.parametrize("use_cgroups", [True, False], ids=["cgroup", "pid-namespace-only"])
def test_timeout_kills_detached_grandchildren(sandbox_root: Path, use_cgroups: bool) -> None:
    workspace = sandbox_root / f"timeout-{use_cgroups}"
    workspace.mkdir()
    runner = BwrapRunner(
        workspace, sandbox_root / "cache", home_root=sandbox_root / "homes", use_cgroups=use_cgroups
    )
    marker = unique_sleep()
    script = f"setsid sh -c 'sleep {marker} & echo started > started' & sleep 600"
    result = sh(runner, script, limits=Limits(timeout_s=2))
    assert result.limit_hit == "timeout"
    assert (workspace / "started").exists()
    assert host_pids_running(marker) == []


def test_no_process_outlives_a_command_that_exits(runner: BwrapRunner) -> None:
    marker = unique_sleep()
    result = sh(runner, f"setsid sleep {marker} > /dev/null 2>&1 & echo left-behind")
    assert result.ok and result.stdout.strip() == "left-behind"
    assert host_pids_running(marker) == []


HOG = "x = b'x' * (2 * 1024**3); print('allocated')"


def test_memory_hog_is_stopped_and_reported(runner: BwrapRunner) -> None:
    result = run(runner, HOG, limits=Limits(memory_mb=512))
    assert result.limit_hit == "memory"
    assert "allocated" not in result.stdout


def test_memory_limit_without_cgroups_still_stops_a_hog(sandbox_root: Path) -> None:
    workspace = sandbox_root / "rlimit"
    workspace.mkdir()
    runner = BwrapRunner(
        workspace, sandbox_root / "cache", home_root=sandbox_root / "homes", use_cgroups=False
    )
    result = run(runner, HOG, limits=Limits(memory_mb=512))
    assert result.exit_code != 0
    assert "allocated" not in result.stdout


@pytest.mark.parametrize(
    "argv",
    [["java", "-version"], ["go", "version"], ["node", "-e", "console.log(1)"]],
    ids=["java", "go", "node"],
)
@pytest.mark.parametrize("use_cgroups", [True, False], ids=["cgroup", "rlimit"])
def test_toolchains_reserving_address_space_run_under_the_memory_limit(
    sandbox_root: Path, argv: list[str], use_cgroups: bool
) -> None:
    workspace = sandbox_root / f"reserve-{argv[0]}-{use_cgroups}"
    workspace.mkdir()
    runner = BwrapRunner(
        workspace, sandbox_root / "cache", home_root=sandbox_root / "homes", use_cgroups=use_cgroups
    )
    result = runner.run(
        argv, cwd=workspace, env=cache_env(runner.cache_dir), limits=Limits(memory_mb=512)
    )
    assert result.ok, result.output


def test_process_flood_is_stopped_and_reported(runner: BwrapRunner) -> None:
    flood = "for i in $(seq 100); do sleep 30 & done 2>/dev/null; kill $(jobs -p); true"
    result = sh(runner, flood, limits=Limits(max_processes=20, timeout_s=60))
    assert result.limit_hit == "processes"


def test_output_flood_is_cut_and_reported(runner: BwrapRunner) -> None:
    """What is kept is cut; the verdict is the command's own (issue 20: never a failure)."""
    result = sh(runner, "yes | head -c 5000000", limits=Limits(max_output_bytes=100_000))
    assert result.limit_hit is None and result.ok
    assert result.truncated
    assert len(result.stdout) < 101_000


@pytest.mark.parametrize(
    "argv",
    [["cargo", "--version"], ["go", "version"], ["python3", "-V"], ["mvn", "-v"], ["npm", "-v"]],
    ids=lambda argv: argv[0],
)
def test_toolchains_under_the_hidden_home_keep_working(
    runner: BwrapRunner, argv: list[str]
) -> None:
    result = runner.run(argv, cwd=runner.workspace, env=cache_env(runner.cache_dir))
    assert result.ok, result.output


def test_shims_of_a_version_manager_in_a_hidden_folder_find_the_manager(
    runner: BwrapRunner, tmp_path: Path
) -> None:
    """pyenv's or rbenv's shims exec the manager from the folder above them, even when its
    root variable (PYENV_ROOT) is not set: an MCP client or a cron job starts corral so."""
    manager = tmp_path / "manager"  # below the host's /tmp, which the sandbox hides
    (manager / "libexec").mkdir(parents=True)
    (manager / "shims").mkdir()
    (manager / "libexec" / "tool").write_text("#!/bin/sh\necho managed\n")
    (manager / "shims" / "tool").write_text(f'#!/bin/sh\nexec "{manager}/libexec/tool" "$@"\n')
    for script in ("libexec/tool", "shims/tool"):
        (manager / script).chmod(0o755)
    env = {**os.environ, "PATH": f"{manager / 'shims'}:{os.environ['PATH']}"}
    shimmed = BwrapRunner(runner.workspace, runner.cache_dir, base_env=env)

    result = shimmed.run(["tool"], cwd=runner.workspace)

    assert result.stdout == "managed\n", result.output


def test_missing_program_raises(runner: BwrapRunner) -> None:
    with pytest.raises(ToolMissingError):
        runner.run(["no-such-program-anywhere"], cwd=runner.workspace)


def test_program_only_in_a_hidden_folder_is_missing(runner: BwrapRunner, tmp_path: Path) -> None:
    tool = tmp_path / "host-only-tool"  # the host's /tmp is not the sandbox's
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    assert subprocess.run([tool], check=True, capture_output=True).stdout == b"hi\n"
    with pytest.raises(ToolMissingError):
        runner.run([str(tool)], cwd=runner.workspace)


def test_cwd_outside_the_workspace_is_refused(runner: BwrapRunner, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the sandbox's workspace"):
        runner.run(["true"], cwd=tmp_path)


def test_home_is_private_to_each_workspace(runner: BwrapRunner, sandbox_root: Path) -> None:
    assert sh(runner, "echo mine > ~/marker").ok
    assert sh(runner, "cat ~/marker").stdout == "mine\n"
    other_workspace = sandbox_root / "other"
    other_workspace.mkdir()
    other = runner.for_workspace(other_workspace)
    assert other.home != runner.home
    assert not sh(other, "cat ~/marker").ok
    assert sh(other, "echo theirs > marker").ok
    assert (other_workspace / "marker").read_text() == "theirs\n"


def test_missing_bwrap_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        BwrapRunner(tmp_path, tmp_path / "cache", bwrap=str(tmp_path / "no-bwrap"))


def test_local_backend_warns_once_per_process(tmp_path: Path) -> None:
    """A campaign makes a runner for every command: the warning must not repeat each time."""
    script = (
        "import sys; from pathlib import Path; from corral.sandbox import make_runner\n"
        "for _ in range(3):\n"
        "    make_runner('local', workspace=Path(sys.argv[1]), cache_dir=Path(sys.argv[1]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stderr.count("no isolation") == 1, done.stderr
