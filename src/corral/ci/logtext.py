"""A CI log as the tools printed it: without the CI service's own markup.

GitHub Actions prefixes every line with a timestamp (`2024-05-01T10:00:00.1234567Z `) and
marks groups and annotations (`##[group]`, `##[endgroup]`, `##[error]`); GitLab wraps steps in
`section_start:...`/`section_end:...` markers and, with timestamps on, prefixes lines with
`2024-05-01T10:00:00.123456Z 00O `; Azure Pipelines does as GitHub does. Colours, carriage
return progress bars and these markers all go; what is left is the tools' own output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corral.verifiers.patterns import ANSI

# ISO timestamps CI services put before each line (GitHub, Azure: `...Z `; GitLab adds a
# stream marker: `00O `, `01E+ `); also the bracketed form some runners print.
_TIMESTAMP = re.compile(
    r"^(?:\ufeff)?(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)"
    r"(?: [0-9a-f]{2}[OE]\+?)? ?|\[\d\d:\d\d:\d\d(?:\.\d+)?\] )"
)
# `gh run view --log` puts the job's and the step's names first: `build\tRun npm test\t<ts> ...`
# (tabs, or spaces and `|` once copied elsewhere).
_GH_CLI_PREFIX = re.compile(
    r"^[^\n]{1,300}?(?:\t|\s{2,}|\s\|\s)(?=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )"
)
# Escape sequences written out in caret notation (`^[[31m`) by logs copied from a terminal.
_CARET_ANSI = re.compile(r"\^\[\[[0-9;?]*[A-Za-z]")
_GITLAB_SECTION = re.compile(r"section_(?:start|end):\d+:[\w.-]+(?:\[[^\]]*\])?\r?")
_CONTROL = re.compile(r"\x1b\[0?K|\x1b\][^\x07]*\x07|[\x00-\x08\x0b\x0c\x0e-\x1f]")
# GitHub/Azure commands that carry text worth keeping: the rest is dropped.
_KEEP_COMMAND = re.compile(r"^##\[(?:error|warning|notice)\]")
_DROP_COMMAND = re.compile(r"^##\[(?:group|endgroup|section|command|debug|endsection)\]")
_VSO = re.compile(r"^##vso\[")


@dataclass(frozen=True)
class LogText:
    """The cleaned log: its text and its lines (same content)."""

    text: str
    lines: tuple[str, ...]
    raw_chars: int
    raw_lines: int

    @classmethod
    def parse(cls, raw: str) -> LogText:
        lines = clean_lines(raw)
        return cls("\n".join(lines), tuple(lines), len(raw), raw.count("\n") + 1)


def clean_lines(raw: str) -> list[str]:
    """The log's lines without timestamps, colours, progress redraws and CI markup."""
    kept: list[str] = []
    for physical in raw.replace("\r\n", "\n").split("\n"):
        line = _clean_line(physical)
        if line is not None:
            kept.append(line)
    return kept


def _clean_line(physical: str) -> str | None:
    line = _GH_CLI_PREFIX.sub("", physical)
    line = _GITLAB_SECTION.sub("", _CARET_ANSI.sub("", ANSI.sub("", line)))
    # A progress bar redraws itself after `\r`: only the last drawing was seen.
    line = line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
    line = _TIMESTAMP.sub("", line)
    line = _CONTROL.sub("", line).rstrip()
    if _DROP_COMMAND.match(line) or _VSO.match(line):
        return None
    if _KEEP_COMMAND.match(line):
        line = line[line.index("]") + 1 :]
    return line
