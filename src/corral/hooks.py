"""Hooks that third-party agents call: `corral hook claude-stop`, Claude Code's Stop hook.

Claude Code runs the hook when the agent tries to finish, with one JSON object on stdin
(`session_id`, `transcript_path`, `cwd`, `stop_hook_active`, ...). When the gate fails the
hook prints `{"decision": "block", "reason": <the gate's message>}` and Claude Code keeps
working with that message; when it passes the hook prints nothing and the agent stops.
Claude Code honours a block only a limited number of times, so corral always runs the gate
again itself after the session, before anything is committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from corral.gate.base import Gate


class HookInputError(ValueError):
    """What the agent sent on stdin is not the hook's input."""


class StopHookInput(BaseModel):
    """The fields of Claude Code's Stop-hook input that corral reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    cwd: Path
    """The session's working directory: the workspace when no job file names one."""


def parse_stop_input(stdin_text: str) -> StopHookInput:
    try:
        return StopHookInput.model_validate_json(stdin_text)
    except ValidationError as exc:
        raise HookInputError(f"not a Claude Code Stop-hook input: {exc}") from exc


def claude_stop(stdin_text: str, gate_for: Callable[[Path], Gate]) -> str | None:
    """The hook's stdout: a block decision carrying the gate's message, or None to let the
    agent stop. `gate_for(cwd)` gives the gate to run for the session's working directory."""
    hook_input = parse_stop_input(stdin_text)
    result = gate_for(hook_input.cwd).check()
    if result.ok:
        return None
    return json.dumps({"decision": "block", "reason": result.message})
