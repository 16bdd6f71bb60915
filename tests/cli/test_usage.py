"""The command line as a user meets it: bad input is answered with exit code 2 and one clear
line (never a traceback), and what the commands print says what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from corral.testing.repos import MakeRepo

CORRAL = str(Path(sys.executable).with_name("corral"))
NOTES_CONFIG = """\
verifiers:
  custom:
    - name: notes
      activate: NOTES.md
      command: ["sh", "-c", "! grep -n TODO NOTES.md"]
      pattern: '^(?P<line>\\d+):(?P<message>.*)$(?P<file>)'
"""
"""A verifier that needs no toolchain."""


def corral(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def assert_usage_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_verify_with_a_baseline_that_is_not_a_commit(make_repo: MakeRepo) -> None:
    repo = make_repo({".corral.yaml": NOTES_CONFIG, "NOTES.md": "Notes.\n"})

    done = corral("verify", str(repo), "--baseline", "no-such-ref", "--sandbox", "local")

    assert_usage_error(done, "no-such-ref")


def test_change_whose_command_fails_is_not_a_success(make_repo: MakeRepo) -> None:
    """The untouched repository passes the gate, but nothing was changed: exit 1, not 0."""
    repo = make_repo({".corral.yaml": NOTES_CONFIG, "NOTES.md": "Notes.\n"})

    done = corral("change", str(repo), "--command", "exit 3", "--json", "--sandbox", "local")

    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["status"]) == (False, "error")
    assert "exited 3" in report["reason"]
