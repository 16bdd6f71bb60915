"""The built-in agent's six tools, confined to the workspace.

`read_file`, `list_files`, `search`, `edit_file`, `write_file` and `verify`: nothing else.
Paths are relative to the workspace; absolute paths, `..`, the `.git` folder and symlinks
that lead outside are refused. Every result is capped in size. Anything wrong with a call
(unknown tool, broken JSON, a missing argument, a refused path) comes back as an error
result for the model to read, never as an exception.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from corral.agents.regex_search import search as search_files
from corral.git.build_output import BUILD_OUTPUT_DIRS
from corral.llm.base import ToolCall, ToolSpec

MAX_RESULT_CHARS = 20_000
MAX_FILE_BYTES = 5_000_000
MAX_SEARCH_HITS = 200
MAX_LISTED_FILES = 2_000
SEARCH_TIME_S = 5.0
"""Wall time one `search` may take: a catastrophic regex is stopped, not waited for."""

SKIPPED_DIRS = BUILD_OUTPUT_DIRS | frozenset({".git", ".hg", ".svn", ".idea"})
"""Folders that list_files and search skip: tool state, dependencies and build output."""


class ToolRefused(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool = False


class ReadFileArgs(BaseModel):
    """Read a text file. Long files come back in part: ask for a line range to read on."""

    path: str = Field(description="File path relative to the repository root.")
    start_line: int = Field(1, ge=1, description="First line to return (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to return (inclusive).")


class ListFilesArgs(BaseModel):
    """List the files below a folder, recursively (dependency and build folders skipped)."""

    path: str = Field(".", description="Folder relative to the repository root.")


class SearchArgs(BaseModel):
    """Search the repository's text files for a string (or a regular expression)."""

    pattern: str = Field(min_length=1, description="Text to find (a regex if `regex` is true).")
    path: str = Field(".", description="Folder or file to search in, relative to the root.")
    regex: bool = Field(False, description="Treat `pattern` as a Python regular expression.")


class EditFileArgs(BaseModel):
    """Replace one exact occurrence of `old` with `new` in a file.

    `old` must occur exactly once: include enough surrounding lines to make it unique.
    """

    path: str = Field(description="File path relative to the repository root.")
    old: str = Field(min_length=1, description="The exact text to replace, whitespace included.")
    new: str = Field(description="The replacement text.")


class WriteFileArgs(BaseModel):
    """Create a file, or overwrite it, with the given content."""

    path: str = Field(description="File path relative to the repository root.")
    content: str = Field(description="The whole new content of the file.")


class VerifyArgs(BaseModel):
    """Check the change: build, lint and test the repository, as CI would.

    Returns "passed" or the problems to fix. Call it before you finish.
    """


class Toolbox:
    """The tools bound to one workspace; `verify` is the gate, given by the caller."""

    def __init__(
        self,
        workspace: Path,
        verify: Callable[[], str],
        max_result_chars: int = MAX_RESULT_CHARS,
    ) -> None:
        self.root = workspace.resolve()
        self._verify = verify
        self.max_result_chars = max_result_chars
        self.edits = 0
        """Successful edit_file and write_file calls."""
        self._tools: dict[str, tuple[type[BaseModel], Callable[[Any], str]]] = {
            "read_file": (ReadFileArgs, self.read_file),
            "list_files": (ListFilesArgs, self.list_files),
            "search": (SearchArgs, self.search),
            "edit_file": (EditFileArgs, self.edit_file),
            "write_file": (WriteFileArgs, self.write_file),
            "verify": (VerifyArgs, self.verify),
        }

    @property
    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name, " ".join((model.__doc__ or "").split()), model.model_json_schema())
            for name, (model, _) in self._tools.items()
        ]

    def run(self, call: ToolCall) -> ToolResult:
        if call.name not in self._tools:
            known = ", ".join(self._tools)
            return ToolResult(f"Unknown tool {call.name!r}. The tools are: {known}.", True)
        if call.arguments is None:
            return ToolResult(f"Bad call to {call.name}: {call.error}", True)
        model, handler = self._tools[call.name]
        try:
            text = handler(model.model_validate(call.arguments))
        except ValidationError as exc:
            return ToolResult(f"Bad arguments for {call.name}: {_describe(exc)}", True)
        except ToolRefused as exc:
            return ToolResult(self._cap(str(exc)), True)
        except OSError as exc:
            return ToolResult(self._cap(f"{call.name} failed: {_os_reason(exc, self.root)}"), True)
        except ValueError as exc:  # the OS layer's own refusals, e.g. "embedded null byte"
            reason = "a path must not contain a NUL byte" if "null byte" in str(exc) else exc
            return ToolResult(self._cap(f"{call.name} failed: {reason}"), True)
        return ToolResult(self._cap(text))

    def read_file(self, args: ReadFileArgs) -> str:
        lines = self._read_text(self._file(args.path)).splitlines(keepends=True)
        if not lines:
            return "(empty file)"
        last = min(args.end_line or len(lines), len(lines))
        if args.start_line > last:
            raise ToolRefused(f"{args.path} has {len(lines)} lines; start_line is past the end")
        shown: list[str] = []
        used = 0
        budget = self.max_result_chars - 200
        for number in range(args.start_line, last + 1):
            line = lines[number - 1]
            if used + len(line) > budget and shown:
                stop = args.start_line + len(shown) - 1
                shown.append(
                    f"\n[... lines {stop + 1}-{len(lines)} not shown; "
                    f"read on with start_line={stop + 1}]"
                )
                break
            shown.append(line)
            used += len(line)
        return "".join(shown)

    def list_files(self, args: ListFilesArgs) -> str:
        folder = self._resolve(args.path)
        if not folder.is_dir():
            raise ToolRefused(f"{args.path} is not a folder")
        files = [self._relative(path) for path in self._walk(folder)]
        if not files:
            return "(no files)"
        listed = files[:MAX_LISTED_FILES]
        more = len(files) - len(listed)
        suffix = [f"[... {more} more files; list a sub-folder]"] if more else []
        return "\n".join(listed + suffix)

    def search(self, args: SearchArgs) -> str:
        try:
            pattern = re.compile(args.pattern if args.regex else re.escape(args.pattern))
        except re.error as exc:
            raise ToolRefused(f"not a valid regular expression: {exc}") from exc
        start = self._resolve(args.path)
        paths = [start] if start.is_file() else list(self._walk(start))
        if args.regex:
            found = self._search_in_child(args.pattern, paths)
        else:
            found = search_files(pattern, [str(p) for p in paths], MAX_SEARCH_HITS)
        hits = [
            f"{self._relative(Path(str(file)))}:{number}: {str(line).strip()[:200]}"
            for file, number, line in found[:MAX_SEARCH_HITS]
        ]
        if len(found) > MAX_SEARCH_HITS:
            hits.append("[... more matches not shown; narrow the search]")
        return "\n".join(hits) or f"No match for {args.pattern!r}."

    def _search_in_child(self, pattern: str, paths: list[Path]) -> list[list[object]]:
        """A regex search in a child process killed at SEARCH_TIME_S (re cannot be stopped)."""
        request = {
            "pattern": pattern,
            "files": [str(p) for p in paths],
            "max_hits": MAX_SEARCH_HITS,
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", "corral.agents.regex_search"],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=SEARCH_TIME_S,
                check=True,
            )
        except subprocess.TimeoutExpired:
            raise ToolRefused(
                f"the search for {pattern!r} took over {SEARCH_TIME_S:.0f} s and was stopped: "
                "use a plain string or a simpler regex (no nested repetition), or a narrower path"
            ) from None
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise ToolRefused(f"the search failed: {last[0][:200]}") from None
        result: list[list[object]] = json.loads(done.stdout)
        return result

    def edit_file(self, args: EditFileArgs) -> str:
        path = self._file(args.path)
        text = self._read_text(path)
        count = text.count(args.old)
        if count == 0:
            raise ToolRefused(
                f"`old` was not found in {args.path}. It must match the file exactly, "
                "whitespace and indentation included: read the file again and copy the text."
            )
        if count > 1:
            raise ToolRefused(
                f"`old` occurs {count} times in {args.path}; include more of the surrounding "
                "lines so that it occurs exactly once."
            )
        path.write_text(text.replace(args.old, args.new, 1), encoding="utf-8", newline="")
        self.edits += 1
        return f"Edited {args.path}."

    def write_file(self, args: WriteFileArgs) -> str:
        path = self._resolve(args.path)
        if path.is_dir():
            raise ToolRefused(f"{args.path} is a folder")
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args.content, encoding="utf-8", newline="")
        self.edits += 1
        return f"{'Overwrote' if existed else 'Created'} {args.path}."

    def verify(self, args: VerifyArgs) -> str:
        return self._verify()

    def _resolve(self, relative: str) -> Path:
        """The absolute path for `relative`, refused unless it stays inside the workspace."""
        parts = PurePosixPath(relative).parts
        if not relative.strip() or relative.startswith(("/", "~", "\\")):
            raise ToolRefused(f"{relative!r}: use a path relative to the repository root")
        if ".." in parts:
            raise ToolRefused(f"{relative!r}: `..` is not allowed; paths stay in the repository")
        if ".git" in parts:
            raise ToolRefused(f"{relative!r}: the .git folder is off limits")
        resolved = (self.root / relative).resolve()
        if not resolved.is_relative_to(self.root):
            raise ToolRefused(f"{relative!r} leads outside the repository (through a symlink)")
        if ".git" in resolved.relative_to(self.root).parts:
            raise ToolRefused(f"{relative!r} leads into the .git folder (through a symlink)")
        return resolved

    def _file(self, relative: str) -> Path:
        path = self._resolve(relative)
        if path.is_dir():
            raise ToolRefused(f"{relative} is a folder: use list_files")
        if not path.is_file():
            raise ToolRefused(f"{relative} does not exist")
        return path

    def _read_text(self, path: Path) -> str:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ToolRefused(f"{self._relative(path)} is too large to read or edit")
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolRefused(f"{self._relative(path)} is not a UTF-8 text file") from exc

    def _walk(self, folder: Path) -> Iterator[Path]:
        """Files below folder, sorted, skipping SKIPPED_DIRS and anything leading outside."""
        for directory, subdirs, files in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                path = Path(directory, name)
                target = path.resolve()
                if target.is_relative_to(self.root) and ".git" not in target.parts:
                    yield path

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _cap(self, text: str) -> str:
        if len(text) <= self.max_result_chars:
            return text
        cut = len(text) - self.max_result_chars
        return f"{text[: self.max_result_chars]}\n[... {cut} characters cut]"


def _os_reason(exc: OSError, root: Path) -> str:
    """One line for the model: what the OS refused, with paths relative to the workspace."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        reason = "a part of the path is a file, not a folder"
    elif exc.errno == errno.ENAMETOOLONG:
        reason = "a file name in the path is too long"
    if exc.filename is not None:
        name = Path(os.fsdecode(exc.filename))
        shown = name.relative_to(root).as_posix() if name.is_relative_to(root) else name.name
        return f"{reason}: {shown if len(shown) <= 80 else shown[:77] + '...'}"
    return reason


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors()
    )
