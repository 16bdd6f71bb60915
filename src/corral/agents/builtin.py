"""corral's own agent: any ChatModel, six tools, budgets and a transcript, in one loop.

Ask the model; run the tools it calls; when it stops, run the gate. A failed gate becomes
the model's next instruction, up to `SessionBudgets.max_gate_retries`. Every way out of the loop is
a `SessionEnded` exception carrying the status and the reason to record.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from corral.agents.base import AgentOutcome, AgentStatus
from corral.agents.tools import Toolbox, ToolResult
from corral.gate.base import Gate, GateResult, Recorder
from corral.llm.base import CallLimits, ChatModel, Message, ModelReply, ToolCall, Usage
from corral.llm.errors import ModelAuthError, ModelError
from corral.spec import SessionBudgets


def system_prompt() -> str:
    """The versioned system prompt shipped in the package (prompts/system.md)."""
    return resources.files("corral.agents").joinpath("prompts/system.md").read_text("utf-8")


def gate_feedback(message: str) -> str:
    return (
        "Your change does not pass verification yet:\n\n"
        f"{message}\n\n"
        "Fix these problems (only those your change caused), then call verify again."
    )


class SessionEnded(Exception):
    status: ClassVar[AgentStatus]

    def __init__(self, reason: str, final_gate: GateResult | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final_gate = final_gate


class Passed(SessionEnded):
    status = "passed"


class GateGaveUp(SessionEnded):
    status = "gate_failed"


class BudgetExhausted(SessionEnded):
    status = "budget_exhausted"


class NoChange(SessionEnded):
    status = "no_change"


class ModelFailed(SessionEnded):
    status = "error"


class Stopped(SessionEnded):
    status = "error"


class BuiltinAgent:
    """Implements `Agent`. ModelAuthError is raised, not recorded as an outcome: a bad key
    fails every job alike, so it belongs to whoever configured the model."""

    def __init__(
        self,
        model: ChatModel,
        budgets: SessionBudgets | None = None,
        *,
        max_output_tokens: int = 8192,
        system: str | None = None,
        stop: Callable[[], str | None] | None = None,
    ) -> None:
        self.model = model
        self.stop = stop
        """Asked before each turn: why the session must end now (its job was cancelled)."""
        self.budgets = budgets or SessionBudgets()
        self.max_output_tokens = max_output_tokens
        self.system = system if system is not None else system_prompt()

    def run(self, workspace: Path, prompt: str, gate: Gate, recorder: Recorder) -> AgentOutcome:
        return _Session(self, workspace, prompt, gate, recorder).run()


class _Session:
    """One run of the loop: the conversation, the spend so far, the tools on one workspace."""

    def __init__(
        self, agent: BuiltinAgent, workspace: Path, prompt: str, gate: Gate, recorder: Recorder
    ) -> None:
        self.agent = agent
        self.budgets = agent.budgets
        self.gate = gate
        self.recorder = recorder
        self.tools = Toolbox(workspace, lambda: self._check_gate("verify").message)
        self.messages = [Message("user", prompt)]
        self.recorded_messages = 0
        self.usage = Usage()
        self.turns = 0
        self.gate_failures = 0
        self.started = time.monotonic()
        self.recorder.record(
            "note",
            {
                "event": "start",
                "workspace": str(workspace),
                "prompt": prompt,
                "system_prompt_sha256": hashlib.sha256(agent.system.encode()).hexdigest(),
                "tools": [spec.name for spec in self.tools.specs],
                "budgets": self.budgets.model_dump(),
            },
        )

    def run(self) -> AgentOutcome:
        try:
            while True:
                self._step()
        except SessionEnded as end:
            reason = end.reason
            if isinstance(end, BudgetExhausted) and self.tools.edits == 0:
                reason += "; nothing was changed"
            outcome = AgentOutcome(end.status, reason, end.final_gate, self.usage, self.turns)
        self.recorder.record(
            "note",
            {
                "event": "end",
                "status": outcome.status,
                "reason": outcome.reason,
                "turns": outcome.turns,
                "usage": _usage_json(outcome.usage),
                "elapsed_s": round(time.monotonic() - self.started, 3),
            },
        )
        return outcome

    def _step(self) -> None:
        self._check_budgets()
        reply = self._ask_model()
        self.messages.append(Message("assistant", reply.text, reply.tool_calls))
        for call in reply.tool_calls:
            self._run_tool(call)
        if not reply.tool_calls:
            self._finish(reply)

    def _check_budgets(self) -> None:
        if self.agent.stop is not None and (why := self.agent.stop()):
            raise Stopped(f"stopped: {why}")
        b, used = self.budgets, self.usage
        elapsed = time.monotonic() - self.started
        if self.turns >= b.max_turns:
            raise BudgetExhausted(f"turn budget spent: {self.turns} of {b.max_turns} turns")
        if used.total_tokens >= b.max_tokens:
            raise BudgetExhausted(
                f"token budget spent: {used.total_tokens} of {b.max_tokens} tokens"
            )
        if used.cost_usd >= b.max_cost_usd:
            raise BudgetExhausted(
                f"cost budget spent: ${used.cost_usd:.4f} of ${b.max_cost_usd:.4f}"
            )
        if elapsed >= b.max_wall_s:
            raise BudgetExhausted(f"wall-time budget spent: {elapsed:.1f}s of {b.max_wall_s:.1f}s")

    def _limits(self) -> CallLimits:
        """What the next call may spend: the budgets' remainder, cut as the answer arrives."""
        b, used = self.budgets, self.usage
        return CallLimits(
            deadline=self.started + b.max_wall_s,
            max_tokens=b.max_tokens - used.total_tokens,
            max_cost_usd=b.max_cost_usd - used.cost_usd,
        )

    def _ask_model(self) -> ModelReply:
        new_messages = [asdict(m) for m in self.messages[self.recorded_messages :]]
        self.recorded_messages = len(self.messages)
        started = time.monotonic()
        try:
            reply = self.agent.model.complete(
                self.agent.system,
                self.messages,
                self.tools.specs,
                self.agent.max_output_tokens,
                limits=self._limits(),
            )
        except ModelError as exc:
            self.recorder.record(
                "model_call",
                {
                    "turn": self.turns + 1,
                    "messages": new_messages,
                    "error": f"{type(exc).__name__}: {exc}",
                    "duration_s": round(time.monotonic() - started, 3),
                },
            )
            if isinstance(exc, ModelAuthError):
                raise
            elapsed = time.monotonic() - self.started
            if elapsed >= self.budgets.max_wall_s:
                raise BudgetExhausted(
                    f"wall-time budget spent during a model call: {elapsed:.1f}s of "
                    f"{self.budgets.max_wall_s:.1f}s"
                ) from exc
            raise ModelFailed(f"the model call failed: {exc}") from exc
        self.turns += 1
        self.usage += reply.usage
        self.recorder.record(
            "model_call",
            {
                "turn": self.turns,
                "messages": new_messages,
                "reply": {
                    "text": reply.text,
                    "tool_calls": [asdict(call) for call in reply.tool_calls],
                    "stop_reason": reply.stop_reason,
                    "model": reply.model,
                },
                "usage": _usage_json(reply.usage),
                "total_usage": _usage_json(self.usage),
                "duration_s": round(time.monotonic() - started, 3),
                **({"cut": reply.cut} if reply.cut else {}),
            },
        )
        if reply.cut:
            raise BudgetExhausted(f"the model's answer was cut: {reply.cut}")
        return reply

    def _run_tool(self, call: ToolCall) -> None:
        started = time.monotonic()
        try:
            result = self.tools.run(call)
        except Exception as exc:  # a tool's bug must reach the model and the record, not the user
            result = ToolResult(
                f"{call.name} failed unexpectedly: {type(exc).__name__}: {exc}", True
            )
        self.messages.append(
            Message("tool", result.text, tool_call_id=call.id, is_error=result.is_error)
        )
        self.recorder.record(
            "tool_call",
            {
                "turn": self.turns,
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "raw_arguments": call.raw_arguments,
                "result": result.text,
                "is_error": result.is_error,
                "duration_s": round(time.monotonic() - started, 3),
            },
        )

    def _finish(self, reply: ModelReply) -> None:
        """The model stopped calling tools: the gate decides whether the session is over."""
        if self.tools.edits == 0:
            raise NoChange(f"the agent stopped without editing: {_first_line(reply.text)}")
        result = self._check_gate("stop")
        if result.ok:
            raise Passed("the gate passed", result)
        if self.gate_failures >= self.budgets.max_gate_retries:
            raise GateGaveUp(
                f"the gate still failed after {self.gate_failures} retries: "
                f"{_first_line(result.message)}",
                result,
            )
        self.gate_failures += 1
        self.messages.append(Message("user", gate_feedback(result.message)))

    def _check_gate(self, trigger: str) -> GateResult:
        started = time.monotonic()
        result = self.gate.check()
        self.recorder.record(
            "gate",
            {
                "turn": self.turns,
                "trigger": trigger,
                **result.to_json(),
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        return result


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": round(usage.cost_usd, 6),
    }


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else "(no text)"
