"""The Claude Code backend: the real `claude` CLI (bundled in `claude-agent-sdk`), locked down.

Claude Code may only read, edit and write files in the workspace, glob, grep and call corral's
`verify` tool (an MCP server, `corral mcp --job FILE`); no Bash unless the campaign gives an
explicit allowlist; no other MCP servers, no user or project settings, and every tool not
listed is denied. Its Stop hook runs `corral hook claude-stop --job FILE`, so the agent cannot
finish while the gate fails. Both reach the job's own gate through the job file (gate_link.py),
written into a private folder that also serves as Claude Code's HOME.

Claude Code honours a blocking Stop hook only a limited number of times, so after the session
corral runs the gate itself: that check, not the agent's word, decides the outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKError,
    ResultMessage,
    TextBlock,
    UserMessage,
    query,
)
from claude_agent_sdk.types import Message

from corral.agents.base import AgentOutcome
from corral.agents.command import has_changes
from corral.agents.gate_link import GateServer
from corral.gate.base import Gate, GateResult, Recorder
from corral.llm.base import Usage
from corral.llm.settings import ModelSettings, resolve_api_key
from corral.sandbox.agent import agent_sandbox
from corral.sandbox.env import is_secret
from corral.spec import SessionBudgets

MCP_SERVER = "corral"
VERIFY_TOOL = f"mcp__{MCP_SERVER}__verify"
FILE_TOOLS = ("Read", "Edit", "Write", "Glob", "Grep")
DEFAULT_MODEL_URL = "https://api.anthropic.com"
CORRAL_COMMAND = (sys.executable, "-m", "corral")
"""How Claude Code starts corral's MCP server and hook: this very install."""

SYSTEM_PROMPT_APPEND = (
    "You work unattended on one repository: nobody will answer questions. Make the requested "
    "change with the file tools. Then call the verify tool, fix what it reports, and call it "
    "again until it passes; only then finish."
)
_BUDGET_SUBTYPES = {"error_max_turns": "turn", "error_max_budget_usd": "cost"}


class ClaudeCodeError(ValueError):
    """The settings cannot drive Claude Code (e.g. a provider other than anthropic)."""


class ClaudeCodeAgent:
    """Implements `Agent` with Claude Code. The model endpoint, key and name come from
    `model` (Messages API only); `bash_allow` are Bash permission specifiers (`go fmt:*`).
    Raises ModelAuthError when there is no key, as the built-in agent does.
    `sandboxed` (the default) runs Claude Code and everything it starts in the sandbox, its
    only way out the model endpoint (sandbox/agent.py); off only with `--sandbox local`."""

    def __init__(
        self,
        model: ModelSettings,
        budgets: SessionBudgets | None = None,
        *,
        bash_allow: Sequence[str] = (),
        cli_path: Path | None = None,
        sandboxed: bool = True,
    ) -> None:
        if model.provider != "anthropic":
            raise ClaudeCodeError(
                f"Claude Code speaks the Anthropic Messages API only, not {model.provider!r}"
            )
        self.model = model
        self.key = resolve_api_key(model)
        self.budgets = budgets or SessionBudgets()
        self.bash_allow = tuple(bash_allow)
        self.cli_path = cli_path
        self.sandboxed = sandboxed

    def run(self, workspace: Path, prompt: str, gate: Gate, recorder: Recorder) -> AgentOutcome:
        workspace = workspace.resolve()
        recorder.record("note", {"event": "start", "workspace": str(workspace), "prompt": prompt})
        session = _Session(recorder, self.budgets)
        with (
            tempfile.TemporaryDirectory(prefix="corral-claude-") as private,
            GateServer(gate, workspace, Path(private)) as job,
        ):
            options = self.options(workspace, Path(private), job)
            with self._sandboxed(options, workspace, Path(private)):
                session.converse(prompt, options)
        outcome = self._outcome(workspace, gate, session, recorder)
        recorder.record(
            "note",
            {
                "event": "end",
                "status": outcome.status,
                "reason": outcome.reason,
                "turns": outcome.turns,
                "usage": dataclasses.asdict(outcome.usage),
            },
        )
        return outcome

    def options(self, workspace: Path, private: Path, job: Path) -> ClaudeAgentOptions:
        """Claude Code's whole configuration for one session (public for inspection)."""
        corral = [*CORRAL_COMMAND]
        return ClaudeAgentOptions(
            tools=[*FILE_TOOLS, *(["Bash"] if self.bash_allow else [])],
            allowed_tools=self._allowed_tools(workspace),
            permission_mode="dontAsk",
            mcp_servers={
                MCP_SERVER: {
                    "type": "stdio",
                    "command": corral[0],
                    "args": [*corral[1:], "mcp", "--job", str(job)],
                }
            },
            strict_mcp_config=True,
            setting_sources=[],
            settings=json.dumps({"hooks": {"Stop": [{"hooks": [self._stop_hook(job)]}]}}),
            system_prompt={
                "type": "preset",
                "preset": "claude_code",
                "append": SYSTEM_PROMPT_APPEND,
            },
            model=self.model.model,
            max_turns=self.budgets.max_turns,
            max_budget_usd=self.budgets.max_cost_usd,
            cwd=workspace,
            env=self._env(private),
            cli_path=self.cli_path,
        )

    @contextlib.contextmanager
    def _sandboxed(
        self, options: ClaudeAgentOptions, workspace: Path, private: Path
    ) -> Iterator[None]:
        """Claude Code, and all it starts, in the sandbox: its only way out the model.
        Not with `--sandbox local` (development only), where nothing is isolated."""
        if not self.sandboxed:
            yield
            return
        cli = self.cli_path or bundled_cli()
        model_url = self.model.base_url or DEFAULT_MODEL_URL
        environment = {**os.environ, **options.env}
        with agent_sandbox(cli, workspace, private, model_url, environment) as (wrapper, env):
            options.cli_path = wrapper
            options.env = {**options.env, **env}
            yield

    def _allowed_tools(self, workspace: Path) -> list[str]:
        # `//` makes a rule path absolute; reads and edits stay inside the workspace
        inside = f"/{workspace}/**"
        return [
            f"Read({inside})",
            f"Edit({inside})",
            VERIFY_TOOL,
            *(f"Bash({command})" for command in self.bash_allow),
        ]

    def _stop_hook(self, job: Path) -> dict[str, Any]:
        command = shlex.join([*CORRAL_COMMAND, "hook", "claude-stop", "--job", str(job)])
        return {"type": "command", "command": command, "timeout": self._gate_timeout_s()}

    def _gate_timeout_s(self) -> int:
        return int(self.budgets.max_wall_s)

    def _env(self, private: Path) -> dict[str, str]:
        # The SDK starts Claude Code with os.environ merged under these: blank every
        # secret-looking variable (forge tokens, cloud keys) so the agent never sees one.
        hidden = {name: "" for name, value in os.environ.items() if is_secret(name, value)}
        env = {
            **hidden,
            "HOME": str(private),
            "CLAUDE_CONFIG_DIR": str(private / ".claude"),
            "ANTHROPIC_API_KEY": self.key.value,
            "ANTHROPIC_MODEL": self.model.model,
            # background calls (titles, summaries) go to the same model, never another
            "ANTHROPIC_SMALL_FAST_MODEL": self.model.model,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": self.model.model,
            "ENABLE_TOOL_SEARCH": "false",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "MCP_TIMEOUT": "60000",
            "MCP_TOOL_TIMEOUT": str(self._gate_timeout_s() * 1000),
        }
        if self.model.base_url:
            env["ANTHROPIC_BASE_URL"] = anthropic_base_url(self.model.base_url)
        return env

    def _outcome(
        self, workspace: Path, gate: Gate, session: _Session, recorder: Recorder
    ) -> AgentOutcome:
        usage, turns = session.usage, session.turns
        if session.error is not None:
            return AgentOutcome("error", session.error, usage=usage, turns=turns)
        if not has_changes(workspace):
            return AgentOutcome(
                "no_change",
                f"Claude Code stopped without editing: {session.last_text()}",
                usage=usage,
                turns=turns,
            )
        final = _final_gate(gate, recorder)
        if final.ok:
            return AgentOutcome("passed", "the gate passed", final, usage, turns)
        if session.budget_spent is not None:
            return AgentOutcome("budget_exhausted", session.budget_spent, final, usage, turns)
        return AgentOutcome(
            "gate_failed",
            f"Claude Code stopped with the gate failing: {_first_line(final.message)}",
            final,
            usage,
            turns,
        )


def bundled_cli() -> Path:
    """The `claude` CLI that claude-agent-sdk ships with."""
    import claude_agent_sdk

    return Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def anthropic_base_url(base_url: str) -> str:
    """ANTHROPIC_BASE_URL as Claude Code wants it: no trailing `/v1` (it adds `/v1/messages`)."""
    url = base_url.rstrip("/")
    return url.removesuffix("/v1")


class _Session:
    """One Claude Code conversation: its messages recorded, its spend and how it ended."""

    def __init__(self, recorder: Recorder, budgets: SessionBudgets) -> None:
        self.recorder = recorder
        self.budgets = budgets
        self.usage = Usage()
        self.turns = 0
        self.result: ResultMessage | None = None
        self.error: str | None = None
        self.budget_spent: str | None = None
        self._texts: list[str] = []
        self._replies: set[str | None] = set()
        self._started = time.monotonic()

    def converse(self, prompt: str, options: ClaudeAgentOptions) -> None:
        try:
            anyio.run(self._converse, prompt, options)
        except ClaudeSDKError as exc:
            self.error = f"Claude Code failed: {_first_line(str(exc))}"

    async def _converse(self, prompt: str, options: ClaudeAgentOptions) -> None:
        with anyio.move_on_after(self.budgets.max_wall_s) as scope:
            # leaving the loop early closes the CLI when anyio.run shuts the generator down
            async for message in query(prompt=prompt, options=options):
                self._take(message)
                if self.budget_spent is not None:
                    break
        if scope.cancelled_caught:
            self.budget_spent = f"wall-time budget spent: {self.budgets.max_wall_s:.0f}s"

    def _take(self, message: Message) -> None:
        self.recorder.record(_record_kind(message), _message_record(message))
        if isinstance(message, AssistantMessage):
            self._texts += [block.text for block in message.content if isinstance(block, TextBlock)]
            self._count(message)
        elif isinstance(message, ResultMessage):
            self._finish(message)

    def _count(self, message: AssistantMessage) -> None:
        """One model reply may arrive as several messages (one per block) with one id."""
        if message.message_id is not None and message.message_id in self._replies:
            return
        self._replies.add(message.message_id)
        self.turns += 1
        self.usage += _usage(message.usage or {})
        if self.usage.total_tokens >= self.budgets.max_tokens:
            self.budget_spent = (
                f"token budget spent: {self.usage.total_tokens} of {self.budgets.max_tokens} tokens"
            )

    def _finish(self, result: ResultMessage) -> None:
        self.result = result
        if result.usage:
            self.usage = _usage(result.usage)
        self.usage = dataclasses.replace(self.usage, cost_usd=result.total_cost_usd or 0.0)
        if result.subtype in _BUDGET_SUBTYPES:
            self.budget_spent = (
                f"{_BUDGET_SUBTYPES[result.subtype]} budget spent ({result.subtype})"
            )
        elif result.is_error:
            status = f" (HTTP {result.api_error_status})" if result.api_error_status else ""
            detail = result.result or "; ".join(result.errors or []) or result.subtype
            self.error = f"Claude Code ended with an error{status}: {_first_line(detail)}"

    def last_text(self) -> str:
        return _first_line(self._texts[-1]) if self._texts else "(no text)"


def _usage(usage: dict[str, Any]) -> Usage:
    return Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))


def _record_kind(message: Message) -> str:
    if isinstance(message, AssistantMessage):
        return "model_call"
    if isinstance(message, UserMessage):
        return "tool_call"
    return "note"


def _message_record(message: Message) -> dict[str, Any]:
    """The stream-json message as data: its type and fields, made JSON-safe."""
    fields = dataclasses.asdict(message) if dataclasses.is_dataclass(message) else {}
    data: dict[str, Any] = json.loads(json.dumps(fields, default=str))
    return {"event": "claude_code", "type": type(message).__name__, **data}


def _final_gate(gate: Gate, recorder: Recorder) -> GateResult:
    started = time.monotonic()
    result = gate.check()
    recorder.record(
        "gate",
        {
            "trigger": "final",
            **result.to_json(),
            "duration_s": round(time.monotonic() - started, 3),
        },
    )
    return result


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else "(no text)"
