"""The `search` tool's matching, run in a child process when the pattern is a regex.

Python's `re` cannot be interrupted, and a pattern such as `(a|aa)+$` backtracks for
minutes on one short line, so a regex search runs here, under a deadline that kills it:
    python -m corral.agents.regex_search < {"pattern", "files", "max_hits"} > [[file, n, line]]
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_FILE_BYTES = 5_000_000


def matching_lines(path: Path, pattern: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    """Lines of a UTF-8 text file that match; other files (binary, too large) have none."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            yield number, line


def search(pattern: re.Pattern[str], files: list[str], max_hits: int) -> list[list[object]]:
    hits: list[list[object]] = []
    for file in files:
        for number, line in matching_lines(Path(file), pattern):
            hits.append([file, number, line[:500]])
            if len(hits) > max_hits:
                return hits
    return hits


def main() -> None:
    request = json.load(sys.stdin)
    pattern = re.compile(request["pattern"])
    json.dump(search(pattern, request["files"], request["max_hits"]), sys.stdout)


if __name__ == "__main__":
    main()
