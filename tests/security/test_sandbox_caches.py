"""Hostile repository vs the dependency caches: repository A's test plants a cargo
`rustc-wrapper` in $CARGO_HOME/config.toml; `corral verify` of an unrelated repository B
(same cache folder) must not run it, nor must A's own next command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_attack import corral_verify, hostile_repo

from corral.sandbox import BwrapRunner, bwrap
from corral.verifiers.base import cache_env

CARGO_TOML = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
POISON_TEST = """\
use std::fs;

#[test]
fn plants_a_wrapper() {
    let home = std::env::var("CARGO_HOME").unwrap();
    let wrapper = format!("{home}/wrap.sh");
    let script = "#!/bin/sh\\ntouch \\"$PWD/POISONED\\"\\nexec \\"$@\\"\\n";
    let _ = fs::write(&wrapper, script);
    let _ = std::process::Command::new("chmod").args(["755", &wrapper]).status();
    let config = format!("[build]\\nrustc-wrapper = \\"{wrapper}\\"\\n");
    let _ = fs::write(format!("{home}/config.toml"), &config);
    let _ = fs::write(format!("{home}/config"), &config);
}
"""
PLANT = (
    'mkdir -p "$CARGO_HOME"; '
    'printf "#!/bin/sh\\ntouch \\"\\$PWD/POISONED\\"\\nexec \\"\\$@\\"\\n" > "$CARGO_HOME/w.sh"; '
    'chmod 755 "$CARGO_HOME/w.sh"; '
    'printf "[build]\\nrustc-wrapper = \\"$CARGO_HOME/w.sh\\"\\n" > "$CARGO_HOME/config.toml"; true'
)


def crate(name: str, poison: bool = False) -> dict[str, str]:
    files = {"Cargo.toml": CARGO_TOML.format(name=name), "src/lib.rs": LIB}
    if poison:
        files["tests/plant.rs"] = POISON_TEST
    return files


@pytest.mark.slow
def test_one_repository_cannot_change_what_anothers_build_runs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a = hostile_repo(tmp_path / "a", crate("a", poison=True), "cargo")
    b = hostile_repo(tmp_path / "b", crate("b"), "cargo")

    first = corral_verify(a, cache)
    second = corral_verify(b, cache)

    assert [v["name"] for v in json.loads(first.stdout)["verifiers"]] == ["cargo"], first.stderr
    assert json.loads(second.stdout)["ok"], second.stdout
    assert not (b / "POISONED").exists()
    assert not (a / "POISONED").exists()  # nor A's own later builds


@pytest.mark.parametrize(
    ("per_repository", "masked", "poisoned"),
    [(True, True, False), (False, True, False), (True, False, False), (False, False, True)],
    ids=["defended", "shared-cache", "config-writable", "both-removed"],
)
def test_per_repository_caches_and_masked_configuration_each_stop_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    per_repository: bool,
    masked: bool,
    poisoned: bool,
) -> None:
    """In-process, one defence taken away at a time: each alone holds; without both, B runs
    A's wrapper, so the test above can fail."""
    if not per_repository:
        monkeypatch.setattr(bwrap, "repository_key", lambda workspace: "shared")
    if not masked:
        monkeypatch.setattr(bwrap, "_prepare_masks", lambda *args: [])
    runners = {}
    for name in ("a", "b"):
        workspace = tmp_path / name
        for rel, text in crate(name).items():
            (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
            (workspace / rel).write_text(text)
        runners[name] = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")
    a, b = runners["a"], runners["b"]
    a.run(["sh", "-c", PLANT], cwd=a.workspace, env=cache_env(a.cache_dir))

    build = b.run(["cargo", "build", "--offline"], cwd=b.workspace, env=cache_env(b.cache_dir))

    assert build.ok, build.output
    assert (b.workspace / "POISONED").exists() is poisoned


def test_shared_environments_are_read_only_except_to_prepare_steps(tmp_path: Path) -> None:
    """Venvs and kept node_modules trees serve every checkout of a repository: a check (no
    network) must not change them; a prepare step (the network, through the proxy) builds
    them."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")
    for folder in bwrap.INSTALLED_CACHE_DIRS:
        (runner.cache_dir / folder / "env").mkdir(parents=True)
        plant = f"echo planted > {runner.cache_dir / folder / 'env' / 'site.pth'}"
        check = runner.run(["sh", "-c", plant], cwd=workspace)
        assert not check.ok
        assert not (runner.cache_dir / folder / "env" / "site.pth").exists()
        prepare = runner.run(["sh", "-c", plant], cwd=workspace, network="open")
        assert prepare.ok, prepare.output
    other = runner.run(["sh", "-c", f"echo ok > {runner.cache_dir / 'venv-work'}"], cwd=workspace)
    assert other.ok, other.output  # the rest of the cache stays writable


HOME_PLANT = """\
set -e
for rel in "$@"; do mkdir -p "$HOME/$(dirname "$rel")" && echo planted > "$HOME/$rel"; done
"""


def test_tool_configuration_a_command_leaves_in_its_home_is_gone_for_the_next(
    tmp_path: Path,
) -> None:
    """The private HOME's tool configuration is removed before each command (no longer masked:
    a bind each): whatever one command writes there, the next reads none of it."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")
    names = [*bwrap.HOME_CONFIG_FILES, *bwrap.HOME_CONFIG_DIRS]
    files = [*bwrap.HOME_CONFIG_FILES, *(f"{d}/evil.gradle" for d in bwrap.HOME_CONFIG_DIRS)]
    plant = runner.run(["sh", "-c", HOME_PLANT, "sh", *files], cwd=workspace)
    assert plant.ok, plant.output
    assert (runner.home / ".npmrc").read_text() == "planted\n"  # it could write them

    script = 'cd "$HOME" && ls -d "$@" 2>/dev/null; true'
    left = runner.run(["sh", "-c", script, "sh", *names], cwd=workspace)

    assert left.stdout == "", left.output


def test_links_planted_on_the_way_to_home_configuration_are_removed_not_followed(
    tmp_path: Path,
) -> None:
    """A command turns ~/.config and ~/.gradle into links to folders it controls (here outside
    every sandbox folder, as an attacker would aim at a host folder): the host side removes
    the links and never touches, nor lets the next command read, what they point to."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = BwrapRunner(workspace, tmp_path / "cache", home_root=tmp_path / "homes")
    target = tmp_path / "target"
    (target / "git").mkdir(parents=True)
    (target / "git" / "config").write_text("[core]\n\tpager = evil\n")
    (target / "init.d").mkdir()
    (target / "init.d" / "keep.gradle").write_text("keep\n")
    runner.run(["true"], cwd=workspace)
    for name in (".config", ".gradle"):
        (runner.home / name).mkdir(exist_ok=True)
        (runner.home / name).rename(runner.home / f"{name}-old")
        (runner.home / name).symlink_to(target)

    after = runner.run(["sh", "-c", "ls -a ~/.config ~/.gradle 2>&1; true"], cwd=workspace)

    assert "No such file" in after.stdout and "init.d" not in after.stdout, after.output
    assert not (runner.home / ".config").is_symlink() and not (runner.home / ".gradle").exists()
    assert (target / "git" / "config").is_file() and (target / "init.d" / "keep.gradle").is_file()
