"""The LLM judge: does this diff do what the prompt asked, and nothing else?

It sees the campaign prompt, the diff and the guard's notes, and must answer with one strict
JSON verdict. A reply that does not parse is sent back once with the error; a second bad
reply raises JudgeError, and the gate fails closed. The model is injected (any ChatModel),
and is configured apart from the agent's (a different model family is recommended).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from corral.gate.diff import Diff
from corral.gate.guard import GuardFinding
from corral.llm.base import ChatModel, Message, Usage

PROMPT_VERSION = "judge-v1"
"""Recorded with every verdict; bump with any change to prompts/judge.md."""


class JudgeError(RuntimeError):
    """The judge gave no usable verdict (after one retry)."""


class JudgeVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    verdict: Literal["approve", "veto"]
    reasons: list[str]
    out_of_scope: list[str]

    @model_validator(mode="after")
    def _consistent(self) -> JudgeVerdict:
        if self.verdict == "veto" and not any(r.strip() for r in self.reasons):
            raise ValueError("a veto needs at least one reason")
        if self.verdict == "approve" and self.out_of_scope:
            raise ValueError("an approval cannot list out-of-scope edits")
        return self


@dataclass(frozen=True)
class JudgeOutcome:
    verdict: JudgeVerdict
    attempts: int
    model: str
    usage: Usage

    @property
    def approved(self) -> bool:
        return self.verdict.verdict == "approve"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.verdict.model_dump(),
            "attempts": self.attempts,
            "model": self.model,
            "prompt_version": PROMPT_VERSION,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cost_usd": self.usage.cost_usd,
        }


def system_prompt() -> str:
    return resources.files("corral.gate").joinpath("prompts/judge.md").read_text()


class Judge:
    def __init__(self, model: ChatModel, *, max_diff_chars: int = 60_000, max_tokens: int = 2048):
        self.model = model
        self.max_diff_chars = max_diff_chars
        self.max_tokens = max_tokens

    def judge(self, prompt: str, diff: Diff, notes: list[GuardFinding]) -> JudgeOutcome:
        """The verdict on `diff`. Raises ModelError when the model cannot be reached, and
        JudgeError when it answers twice with something that is not a verdict."""
        system = system_prompt()
        messages = [Message("user", self.render(prompt, diff, notes))]
        usage = Usage()
        error = ""
        for attempt in (1, 2):
            reply = self.model.complete(system, messages, tools=[], max_tokens=self.max_tokens)
            usage = usage + reply.usage
            try:
                return JudgeOutcome(parse_verdict(reply.text), attempt, reply.model, usage)
            except ValueError as exc:
                error = str(exc)
                messages += [Message("assistant", reply.text), _correction(error)]
        raise JudgeError(f"the judge's reply was not a valid verdict twice: {error}")

    def render(self, prompt: str, diff: Diff, notes: list[GuardFinding]) -> str:
        patch = diff.patch
        cut = ""
        if len(patch) > self.max_diff_chars:
            patch = patch[: self.max_diff_chars]
            cut = f"\n[diff cut at {self.max_diff_chars} of {len(diff.patch)} characters]"
        files = "\n".join(f"- {f.status}: {f.path}" for f in diff.files) or "(none)"
        noted = "\n".join(f"- [{n.rule}] {n.message}" for n in notes) or "(none)"
        return (
            f"## Campaign prompt\n\n{prompt.strip()}\n\n"
            f"## Files changed\n\n{files}\n\n"
            f"## Guard notes (allowed by the campaign)\n\n{noted}\n\n"
            f"## Diff\n\n```diff\n{patch}{cut}\n```\n\n"
            "Reply with the JSON verdict only."
        )


def parse_verdict(text: str) -> JudgeVerdict:
    """The verdict in `text`: one JSON object, optionally in a ```json fence, nothing else.

    Raises ValueError (pydantic's ValidationError included) saying what is wrong.
    """
    body = _unfenced(text.strip())
    try:
        return JudgeVerdict.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from exc


def _unfenced(text: str) -> str:
    lines = text.splitlines()
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1].strip() == "```":
        return "\n".join(lines[1:-1])
    return text


def _correction(error: str) -> Message:
    shape = {"verdict": "approve|veto", "reasons": ["..."], "out_of_scope": ["..."]}
    return Message(
        "user",
        f"That reply is not a valid verdict ({error}). Reply with exactly one JSON object of "
        f"this shape and nothing else: {json.dumps(shape)}",
    )
