"""`corral condense` as a user runs it: a CI log file or standard input in, one line per
finding out (or JSON); exit 0 with findings, 1 when none is recognised, 2 on bad usage."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_helpers import corral

from corral.testing.cli import CORRAL

LOG = (
    "2024-05-01T10:00:00.1234567Z ##[group]Run mvn -B verify\n"
    "2024-05-01T10:00:01.1234567Z [ERROR] /home/runner/work/shop/shop/src/main/java/com/acme/"
    "Cart.java:[12,17] cannot find symbol\n"
    "2024-05-01T10:00:02.1234567Z ##[error]Process completed with exit code 1.\n"
)


def test_condense_prints_one_line_per_finding(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text(LOG)

    done = corral("condense", str(log))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "src/main/java/com/acme/Cart.java:12: [compile] javac: cannot find symbol"
    ]


def test_condense_json_from_standard_input_has_findings_and_the_agent_message() -> None:
    done = subprocess.run(
        [CORRAL, "condense", "-", "--json"], input=LOG, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["findings"][0]["file"] == "src/main/java/com/acme/Cart.java"
    assert report["findings"][0]["line"] == 12
    assert report["findings"][0]["tool"] == "javac"
    assert "Cart.java:12" in report["message"]
    assert report["infrastructure"] is None


def test_condense_exit_codes_for_nothing_recognised_and_bad_usage(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("Step 4/9 : RUN ./build.sh\nbuild failed\n")

    nothing = corral("condense", str(log))
    missing = corral("condense", str(tmp_path / "absent.log"))
    bad_tool = corral("condense", str(log), "--tool", "gcc")

    assert nothing.returncode == 1
    assert "build failed" in nothing.stdout
    for done, words in ((missing, "no such file"), (bad_tool, "unknown tool 'gcc'")):
        assert done.returncode == 2
        assert words in done.stderr
        assert "Traceback" not in done.stderr
