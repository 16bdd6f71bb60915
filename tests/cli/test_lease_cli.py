"""Two `corral run` of one campaign at once: one works, the other says who holds it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_helpers import corral, runtime_args, write_spec
from test_run import wait_for_states

from corral.states import JobState
from corral.testing.cli import CORRAL, corral_env
from corral.testing.repos import make_remote, notes_repo


def test_a_second_run_of_a_campaign_exits_2_or_waits_for_the_lease(tmp_path: Path) -> None:
    forge = tmp_path / "forge"
    remote = make_remote(forge, "docs-a", notes_repo())
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="leased",
        command="echo Reviewed. >> NOTES.md",
        targets={"repos": [str(remote)]},
        approval="each",
    )
    store_url = str(tmp_path / "corral.db")
    env = corral_env()
    argv = [CORRAL, "run", str(spec), *runtime_args(tmp_path)]
    first = subprocess.Popen([*argv, "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)  # fmt: skip
    waiter = None
    try:
        wait_for_states(store_url, "leased", {"docs-a": JobState.AWAITING_APPROVAL})
        second = corral("run", str(spec), *runtime_args(tmp_path))
        assert second.returncode == 2, second.stdout + second.stderr
        said = " ".join(second.stderr.split())
        assert f"campaign 'leased' is being run by pid {first.pid} on " in said
        assert "Traceback" not in second.stderr

        waiter = subprocess.Popen([*argv, "--wait-for-lease"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        assert corral("approve", "1", "--store", store_url, "--by", "ana").returncode == 0
        first.communicate(timeout=120)
        assert first.returncode == 0
        out, errors = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, out + errors
        assert "Traceback" not in errors
    finally:
        for process in (first, waiter):
            if process is not None and process.poll() is None:
                process.kill()
