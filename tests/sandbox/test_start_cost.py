"""What the sandbox's start does less of (bench/sandbox_overhead.py has the times), and that
each shortcut still gives every command what it gave before."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from corral.sandbox import BwrapRunner, bwrap, local
from corral.sandbox.base import Limits, ToolMissingError
from corral.sandbox.bwrap import Mount, MountPlan, SandboxUnavailableError, bwrap_command
from corral.sandbox.cgroup import CgroupRoots, CommandCgroup, find_cgroups
from corral.verifiers.base import cache_env


@pytest.fixture
def runner(tmp_path: Path) -> BwrapRunner:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")


def binds(argv: list[str]) -> list[str]:
    """The destinations of the bind mounts in bwrap's arguments, in order, and "/dev"."""
    found = []
    for index, arg in enumerate(argv):
        if arg in ("--bind", "--ro-bind"):
            found.append(argv[index + 2])
        elif arg == "--dev":
            found.append(argv[index + 1])
    return found


def test_sys_is_bound_after_every_other_bind(runner: BwrapRunner) -> None:
    """bwrap rereads the whole mount table for each bind: /sys brings its cgroup hierarchies
    into that table, so it comes last, after /dev's binds too."""
    plan = runner.mount_plan(dict(os.environ))
    order = binds(bwrap_command("bwrap", plan, runner.workspace))
    assert order[-1] == "/sys"
    assert order.count("/sys") == 1 and "/dev" in order


def test_a_folder_with_a_mount_below_it_keeps_its_place() -> None:
    """Parents are mounted before children: /sys is not moved after a mount inside it."""
    inner = Path("/sys/fs/cgroup/corral-test")
    plan = MountPlan(
        (Mount(Path("/usr"), "ro-bind"), Mount(Path("/sys"), "ro-bind"), Mount(inner, "tmpfs"))
    )
    argv = bwrap_command("bwrap", plan, Path("/"))
    assert argv.index("/sys") < argv.index(str(inner)) < argv.index("--proc")


def test_the_root_folder_bound_whole_comes_before_what_is_mounted_in_it() -> None:
    """`/` has every host mount below it, and every other mount is inside it."""
    plan = MountPlan((Mount(Path("/tmp"), "tmpfs"), Mount(Path("/"), "ro-bind")))
    argv = bwrap_command("bwrap", plan, Path("/"))
    assert argv.index("--ro-bind") < argv.index("--tmpfs") < argv.index("--proc")


def test_sys_stays_read_only_and_shows_the_cgroups(runner: BwrapRunner) -> None:
    result = runner.run(
        ["sh", "-c", "ls /sys/fs/cgroup >/dev/null && ! touch /sys/fs/cgroup/x 2>/dev/null"],
        cwd=runner.workspace,
    )
    assert result.ok, result.output


@pytest.mark.parametrize("use_cgroups", [True, False], ids=["cgroup", "rlimit"])
def test_the_rlimits_are_the_limits_asked_for(tmp_path: Path, use_cgroups: bool) -> None:
    """Set by corral on the waiting bwrap (no shell, no `prlimit` process): RLIMIT_FSIZE
    (`ulimit` shows 512-byte blocks), RLIMIT_DATA (KiB) only without cgroups, soft and hard."""
    runner = BwrapRunner(
        tmp_path, tmp_path / "cache", home_root=tmp_path / "homes", use_cgroups=use_cgroups
    )
    script = "ulimit -f; ulimit -H -f; ulimit -d; ulimit -H -d"
    limits = Limits(memory_mb=512, max_file_mb=10)
    result = runner.run(["sh", "-c", script], cwd=tmp_path, limits=limits)
    data = "unlimited" if use_cgroups else str(512 * 1024)
    assert result.stdout.split() == [str(10 * 2048)] * 2 + [data] * 2, result.output


@pytest.mark.parametrize("refused", ["cgroups", "rlimits"])
def test_a_command_whose_limits_cannot_be_set_does_not_run(
    runner: BwrapRunner, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    """corral moves the waiting bwrap into the cgroups and sets its rlimits itself: if either
    fails (a setuid bwrap refuses prlimit), the command never starts (no options reach
    bwrap), rather than running without its limits."""
    if refused == "cgroups" and find_cgroups() is None:
        pytest.skip("no usable cgroups here")

    def refuse(*args: object) -> None:
        raise PermissionError("refused")

    if refused == "cgroups":
        monkeypatch.setattr(CommandCgroup, "join", refuse)
    else:
        monkeypatch.setattr(bwrap.resource, "prlimit", refuse)
    marker = runner.workspace / "ran"
    with pytest.raises(SandboxUnavailableError, match=refused):
        runner.run(["touch", str(marker)], cwd=runner.workspace)
    assert not marker.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_toolchain_folder_made_after_a_command_is_bound_at_the_next(tmp_path: Path) -> None:
    """The toolchain binds are computed once per set of existing folders: one that appears
    later (a toolchain installed between two commands) is seen by the next command."""
    tools = tmp_path / "tools"  # below the host's /tmp, which the sandbox hides
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    runner = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "h", base_env=env)
    first = runner.run(["sh", "-c", "command -v tool || echo none"], cwd=workspace)
    tools.mkdir()
    (tools / "tool").write_text("#!/bin/sh\necho installed\n")
    (tools / "tool").chmod(0o755)

    second = runner.run(["tool"], cwd=workspace)

    assert first.stdout == "none\n", first.output
    assert second.stdout == "installed\n", second.output


def test_nothing_is_mounted_inside_the_home(runner: BwrapRunner) -> None:
    """Every bind costs a reread of the mount table: the HOME's tool configuration is removed
    before each command instead of masked (tests/security/test_sandbox_caches.py shows a
    command's configuration does not reach the next), so the HOME is one bind."""
    plan = runner.mount_plan(dict(os.environ))
    inside = [m for m in plan.mounts if m.path.is_relative_to(runner.home)]
    assert [(m.path, m.kind) for m in inside] == [(runner.home, "bind")]


def test_bwrap_is_started_before_its_mounts_are_known(
    runner: BwrapRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bwrap starts first, with no shell before it; it reads its options (the mounts) from a
    pipe once corral has made them, while the command stays on its command line."""
    started: list[list[str]] = []
    real = local.start_process

    def spy(argv: list[str], **kwargs: object) -> object:
        started.append(list(argv))
        return real(argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bwrap, "start_process", spy)
    result = runner.run(["echo", "--bind", "/", "/"], cwd=runner.workspace)

    assert result.stdout == "--bind / /\n", result.output
    (argv,) = started
    assert argv[:2] == [bwrap.require_bwrap(), "--args"]
    at = argv.index("--args")
    assert argv[at + 2 :] == ["--", "echo", "--bind", "/", "/"]
    assert "--ro-bind" not in argv and "--unshare-all" not in argv


def test_input_larger_than_a_pipe_is_written_after_bwraps_options(runner: BwrapRunner) -> None:
    """bwrap reads nothing of the command's input before its options: writing the input first
    would block on a full pipe and the command would never start."""
    data = "x" * (1 << 20)
    result = runner.run(["wc", "-c"], cwd=runner.workspace, stdin=data, limits=Limits(timeout_s=30))
    assert result.limit_hit is None and result.stdout.strip() == str(len(data)), result.output


def test_a_program_found_missing_after_bwrap_started_leaves_nothing_behind(
    runner: BwrapRunner,
) -> None:
    """bwrap is already waiting for its options when the program turns out to be missing: it
    is killed and reaped (only once the thread moving it into the cgroups is done: its pid
    must not name another process meanwhile), and the command's cgroups are removed."""
    roots = find_cgroups()
    before = _own_cgroups(roots)
    with pytest.raises(ToolMissingError):
        runner.run(["no-such-program-here"], cwd=runner.workspace, limits=Limits())
    assert "corral-cgroup-join" not in [t.name for t in threading.enumerate()]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left, not even a zombie
    assert _own_cgroups(roots) == before


def _own_cgroups(roots: CgroupRoots | None) -> set[Path]:
    if roots is None:
        return set()
    prefix = f"{os.getpid()}-"
    return {
        p
        for parent in (roots.memory / "corral", roots.pids / "corral")
        if parent.is_dir()
        for p in parent.iterdir()
        if p.name.startswith(prefix)
    }


def test_a_mount_point_another_command_just_made_is_taken_not_left_unmasked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Side-by-side steps of a check start commands at the same moment: when the other one
    creates a mask's mount point between this one's look and its create, the mask still
    applies (it was once "left unmasked")."""
    made = tmp_path / "cargo" / "config.toml"
    made.parent.mkdir()
    made.touch()
    real_lstat = os.lstat
    looks: list[str] = []

    def not_there_at_first_look(path: str) -> os.stat_result:
        if path == str(made) and not looks:
            looks.append(path)
            raise FileNotFoundError(path)
        return real_lstat(path)

    monkeypatch.setattr(bwrap.os, "lstat", not_there_at_first_look)

    assert bwrap._make_mount_point(tmp_path, Path("cargo/config.toml"), is_dir=False)
    assert looks


def test_a_link_made_at_the_mount_point_meanwhile_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "host-file"
    target.write_text("secret")
    (tmp_path / "cargo").mkdir()
    (tmp_path / "cargo" / "config.toml").symlink_to(target)
    real_lstat = os.lstat
    looks: list[str] = []

    def not_there_at_first_look(path: str) -> os.stat_result:
        if path.endswith("config.toml") and not looks:
            looks.append(path)
            raise FileNotFoundError(path)
        return real_lstat(path)

    monkeypatch.setattr(bwrap.os, "lstat", not_there_at_first_look)

    assert not bwrap._make_mount_point(tmp_path, Path("cargo/config.toml"), is_dir=False)


def test_commands_started_together_on_a_new_workspace_all_get_the_masks(tmp_path: Path) -> None:
    runner = BwrapRunner(workspace=tmp_path / "ws", cache_dir=tmp_path / "cache")
    (tmp_path / "ws").mkdir()
    results: list[str] = []
    # the cache folder is writable, its cargo config a read-only mask
    script = (
        'touch "$CARGO_HOME/ok" && { { echo x >> "$CARGO_HOME/config.toml"; } 2>/dev/null '
        "&& echo wrote || echo refused; }"
    )

    def run() -> None:
        env = cache_env(runner.cache_dir)
        done = runner.run(["sh", "-c", script], cwd=tmp_path / "ws", env=env)
        results.append(done.stdout.strip() or done.stderr)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["refused"] * 4


def test_two_commands_removing_the_same_tool_configuration_at_once_both_start(
    tmp_path: Path,
) -> None:
    """Side-by-side steps each remove the HOME's tool configuration before they start: a
    folder the other is removing at the same moment is gone either way, not an error."""
    failures: list[BaseException] = []
    for _ in range(5):
        init_d = tmp_path / ".gradle" / "init.d"
        for index in range(300):
            (init_d / f"d{index}").mkdir(parents=True)
            (init_d / f"d{index}" / "init.gradle").write_text("x")
        start = threading.Barrier(2)

        def remove(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                bwrap._remove_config(tmp_path, [".gradle/init.d"])
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=remove) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not init_d.exists()
    assert failures == []
