"""Where a session's transcript goes: a JSONL file, memory, or several places at once.

Each record is one line: `{"seq": n, "time": unix_seconds, "kind": kind, "data": {...}}`,
kinds as in `Recorder` (agents/base.py). The store implements the same interface.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, TextIO


class TranscriptExistsError(FileExistsError):
    """A transcript is one session: an existing file is never appended to."""


class JsonlRecorder:
    """Writes one JSON line per record to a new file and flushes it, so a crash loses nothing
    written. The file must not exist: two sessions in one file would read as one."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._file: TextIO = path.open("x", encoding="utf-8")
        except FileExistsError as exc:
            raise TranscriptExistsError(
                f"the transcript {path} exists already: give a new file "
                "(a transcript holds one session, so corral never appends to one)"
            ) from exc
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            line = {"seq": self._seq, "time": time.time(), "kind": kind, "data": data}
            self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryRecorder:
    """Keeps records in a list: for callers that want the transcript back as data."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.records.append({"seq": len(self.records) + 1, "kind": kind, "data": data})

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r["data"] for r in self.records if r["kind"] == kind]


def read_transcript(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
