"""A tool that cannot start is reported by its first error line and a hint."""

from __future__ import annotations

from pathlib import Path

from corral.sandbox.local import LocalRunner
from corral.verifiers.base import output_tail

CRASH = """
echo 'error: rustup could not choose a version of cargo to run, because none was specified' >&2
echo 'help: run `rustup default stable` to download the latest stable release' >&2
echo 'stack backtrace:' >&2
echo '  11: std::rt::lang_start_internal' >&2
echo '  12: __libc_start_main_impl' >&2
echo '             at ./csu/../csu/libc-start.c:360:3' >&2
exit 1
"""


def test_a_crashing_tool_is_its_first_error_line_and_a_hint(tmp_path: Path) -> None:
    result = LocalRunner(tmp_path).run(["sh", "-c", CRASH], cwd=tmp_path)
    said = output_tail(result)
    assert said.startswith("error: rustup could not choose a version of cargo to run")
    assert said.endswith("(the tool could not start or crashed: check its installation)")
    assert "__libc_start_main_impl" not in said


def test_output_without_an_error_line_is_its_tail(tmp_path: Path) -> None:
    script = "printf 'one\\ntwo\\nthree\\nfour\\n' >&2; exit 2"
    result = LocalRunner(tmp_path).run(["sh", "-c", script], cwd=tmp_path)
    assert output_tail(result) == "two | three | four"
