"""Hostile repository vs the host's files: a test that `corral verify` runs tries to read the
host's secrets and other checkouts, run as root, and plant git configuration and hooks (also
through a committed `gitlink -> .git` symlink) that git on the host would later run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sandbox_attack import GO_MOD, SECRET_VALUES, corral_verify, hostile_repo, sandbox_home

from corral.sandbox import BwrapRunner, bwrap
from corral.sandbox.base import write_inside
from corral.sandbox.bwrap import Mount
from corral.testing.repos import git

ATTACK_TEST = """\
package attack

import (
\t"os"
\t"path/filepath"
\t"strings"
\t"testing"
)

func note(r *strings.Builder, what string, err error) {
\tif err == nil {
\t\tr.WriteString("ESCAPED " + what + "\\n")
\t} else {
\t\tr.WriteString("blocked " + what + "\\n")
\t}
}

func appendTo(path, text string) error {
\tf, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o755)
\tif err != nil {
\t\treturn err
\t}
\tdefer f.Close()
\t_, err = f.WriteString(text)
\treturn err
}

func readable(path string) error {
\tdata, err := os.ReadFile(path)
\tif err == nil && len(data) == 0 {
\t\treturn os.ErrNotExist
\t}
\treturn err
}

func TestAttack(t *testing.T) {
\tvar r strings.Builder
\twd, _ := os.Getwd()
\tif os.Getuid() == 0 || os.Geteuid() == 0 {
\t\tr.WriteString("ESCAPED runs as uid 0\\n")
\t}
\tnote(&r, "read /etc/shadow", readable("/etc/shadow"))
\tnote(&r, "read other checkout", readable("OTHER_SECRET"))
\tnote(&r, "read other repository's cache", readable("OTHER_CACHE"))
\tnote(&r, "read the host's home", readable("HOST_HOME_FILE"))
\t_, err := os.ReadDir("/var/lib/dpkg")
\tnote(&r, "list /var/lib", err)
\thook := "#!/bin/sh\\ntouch HOOK_MARKER\\n"
\tfsmonitor := "[core]\\n\\tfsmonitor = touch HOOK_MARKER\\n"
\ttextconv := "[diff \\"x\\"]\\n\\ttextconv = touch HOOK_MARKER\\n"
\tgitDir, link := filepath.Join(wd, ".git"), filepath.Join(wd, "gitlink")
\tnote(&r, "write .git/config", appendTo(filepath.Join(gitDir, "config"), fsmonitor))
\tnote(&r, "write .git/hooks", appendTo(filepath.Join(gitDir, "hooks", "pre-commit"), hook))
\tnote(&r, "write hooks via gitlink", appendTo(filepath.Join(link, "hooks", "post-merge"), hook))
\tnote(&r, "write config via gitlink", appendTo(filepath.Join(link, "config"), textconv))
\tnote(&r, "replace .git", os.Rename(filepath.Join(wd, ".git"), filepath.Join(wd, "moved-git")))
\tfor _, kv := range os.Environ() {
\t\tr.WriteString("ENV " + kv + "\\n")
\t}
\tos.WriteFile(filepath.Join(os.Getenv("HOME"), "attack-report.txt"), []byte(r.String()), 0o644)
}
"""


def attack_files(
    other_secret: Path, other_cache: Path, home_file: Path, marker: Path
) -> dict[str, str]:
    source = (
        ATTACK_TEST.replace("OTHER_SECRET", str(other_secret))
        .replace("OTHER_CACHE", str(other_cache))
        .replace("HOST_HOME_FILE", str(home_file))
        .replace("HOOK_MARKER", str(marker))
    )
    return {"go.mod": GO_MOD, "attack_test.go": source, "attack.go": "package attack\n"}


def plant(tmp_path: Path, cache_dir: Path) -> tuple[dict[str, str], Path]:
    other = tmp_path / "other-checkout" / "secret.txt"
    other.parent.mkdir()
    other.write_text("other repository's secret\n")
    other_cache = cache_dir / "repos" / "0123456789abcdef" / "secret.txt"
    other_cache.parent.mkdir(parents=True)
    other_cache.write_text("other repository's cache\n")
    home_file = Path.home() / ".corral-test-host-secret"
    home_file.write_text("host home secret\n")
    marker = tmp_path / "hook-ran"
    return attack_files(other, other_cache, home_file, marker), marker


def git_state(repo: Path) -> tuple[str, list[str]]:
    hooks = sorted(
        p.name for p in (repo / ".git" / "hooks").iterdir() if not p.name.endswith(".sample")
    )
    return (repo / ".git" / "config").read_text(), hooks


@pytest.mark.slow
def test_hostile_go_test_reaches_no_host_file_and_no_git_metadata(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    files, marker = plant(tmp_path, cache_dir)
    repo = hostile_repo(tmp_path / "hostile", files, "go")
    (repo / "gitlink").symlink_to(".git")
    git(repo, "add", "gitlink")
    git(repo, "commit", "-q", "-m", "gitlink")
    before = git_state(repo)

    try:
        done = corral_verify(repo, cache_dir)
    finally:
        (Path.home() / ".corral-test-host-secret").unlink()

    report = (sandbox_home(repo, cache_dir) / "attack-report.txt").read_text()
    assert "blocked write .git/config" in report, (done.stdout, done.stderr)
    assert "ESCAPED" not in report, report
    assert not any(value in report for value in SECRET_VALUES), report
    assert git_state(repo) == before
    git(repo, "status", "--porcelain")  # host git still runs, and runs nothing planted
    assert not marker.exists()
    assert done.returncode in (0, 1), done.stderr  # a verdict, not a crash
    assert [v["name"] for v in json.loads(done.stdout)["verifiers"]] == ["go"]


WEAKENINGS = {
    "whole host filesystem": lambda mp: mp.setattr(
        bwrap, "_system_mounts", lambda: (Mount(Path("/"), "ro-bind"),)
    ),
    "git metadata writable": lambda mp: mp.setattr(bwrap, "_git_metadata_mounts", lambda ws: []),
}


def probe(runner: BwrapRunner, repo: Path) -> subprocess.CompletedProcess[str] | str:
    script = (
        "cat /etc/shadow >/dev/null 2>&1 && echo ESCAPED-shadow; "
        "echo '[core]' >> .git/config 2>/dev/null && echo ESCAPED-git; "
        "echo '#!/bin/sh' > gitlink/hooks/pre-commit 2>/dev/null && echo ESCAPED-hook; true"
    )
    return runner.run(["sh", "-c", script], cwd=repo).stdout


@pytest.mark.parametrize("weakening", [None, *WEAKENINGS])
def test_each_defence_is_what_stops_the_attack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weakening: str | None
) -> None:
    """The same attacks, in-process, with one defence taken away at a time: the probe must
    see the escape then, so the tests above can fail."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "gitlink").symlink_to(".git")
    if weakening:
        WEAKENINGS[weakening](monkeypatch)
    runner = BwrapRunner(repo, tmp_path / "cache", home_root=tmp_path / "homes")
    escaped = probe(runner, repo)
    expected = {
        None: "",
        "whole host filesystem": "ESCAPED-shadow\n",
        "git metadata writable": "ESCAPED-git\nESCAPED-hook\n",
    }[weakening]
    assert escaped == expected


def test_host_writes_into_sandbox_folders_never_follow_planted_links(tmp_path: Path) -> None:
    """corral writes stamps into node_modules and venvs after repository code ran there."""
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    workspace = tmp_path / "ws"
    (workspace / "node_modules").mkdir(parents=True)
    stamp = workspace / "node_modules" / ".corral-stamp"
    stamp.symlink_to(victim)
    write_inside(workspace, stamp, "fingerprint")
    assert victim.read_text() == "host file\n"
    assert stamp.read_text() == "fingerprint" and not stamp.is_symlink()
    (workspace / "linked").symlink_to(tmp_path)
    with pytest.raises(OSError, match="leads outside"):
        write_inside(workspace, workspace / "linked" / "victim", "fingerprint")
    assert victim.read_text() == "host file\n"
