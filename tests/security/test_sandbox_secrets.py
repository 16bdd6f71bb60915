"""Hostile repository vs the operator's secrets: a test that `corral verify` runs dumps its
environment. Credentials must be absent whether named like secrets (GITHUB_TOKEN) or hidden
in variables the sandbox needs (a token as a mirror URL's user name, a password option)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sandbox_attack import (
    FAKE_SECRETS,
    GO_MOD,
    SECRET_VALUES,
    corral_verify,
    hostile_repo,
    sandbox_home,
)

from corral.sandbox import BwrapRunner, env

DUMP_TEST = """\
package dump

import (
\t"os"
\t"strings"
\t"testing"
)

func TestDump(t *testing.T) {
\tos.WriteFile(os.Getenv("HOME")+"/env-dump.txt", []byte(strings.Join(os.Environ(), "\\n")), 0o644)
}
"""


@pytest.mark.slow
def test_a_repositorys_test_sees_no_credential(tmp_path: Path) -> None:
    files = {"go.mod": GO_MOD, "dump.go": "package dump\n", "dump_test.go": DUMP_TEST}
    repo = hostile_repo(tmp_path / "hostile", files, "go")

    done = corral_verify(repo, tmp_path / "cache")

    dump = (sandbox_home(repo, tmp_path / "cache") / "env-dump.txt").read_text()
    leaked = [value for value in SECRET_VALUES if value in dump]
    assert leaked == [], dump
    seen = dict(line.split("=", 1) for line in dump.splitlines() if "=" in line)
    assert seen["PIP_INDEX_URL"] == "https://pypi.org/simple"  # the mirror, minus the token
    assert seen["MAVEN_OPTS"] == "-Xmx512m"
    assert done.returncode in (0, 1), done.stderr


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("https://TOKEN@host/simple", "https://host/simple"),
        ("https://user:pass@host/simple", "https://host/simple"),
        ("a https://t@h,direct b", "a https://h,direct b"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("-Xmx1g -Dhttps.proxyPassword=hunter2 -Dfoo=bar", "-Xmx1g  -Dfoo=bar"),
        ("--password hunter2 --verbose", "--verbose"),
        ("-Dserver.token=abc", ""),
        ("--max-old-space-size=4096", "--max-old-space-size=4096"),
    ],
)
def test_credentials_are_cut_from_any_value(value: str, cleaned: str) -> None:
    assert env.without_credentials(value) == cleaned


@pytest.mark.parametrize("filtered", [True, False], ids=["filtered", "filter-removed"])
def test_the_filter_is_what_stops_the_leak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filtered: bool
) -> None:
    if not filtered:
        monkeypatch.setattr(env, "without_credentials", lambda value: value)
    runner = BwrapRunner(
        tmp_path,
        tmp_path / "cache",
        home_root=tmp_path / "homes",
        base_env={**FAKE_SECRETS, "PATH": os.environ["PATH"]},
    )
    dump = runner.run(["env"], cwd=tmp_path).stdout
    assert any(value in dump for value in SECRET_VALUES) is not filtered
