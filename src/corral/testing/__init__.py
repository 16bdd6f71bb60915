"""Test support that ships with corral: the fake model server and sample projects.

`fake_llm` serves the Anthropic and OpenAI protocols from a script, so real SDKs and real
agents run end to end without a paid model; `samples` generates small real projects.
"""

from corral.testing.fake_llm import (
    BrokenAnswer,
    Call,
    Failure,
    FakeModelServer,
    FakeRequest,
    ScriptItem,
    Turn,
    replay_script,
    tool,
)

__all__ = [
    "BrokenAnswer",
    "Call",
    "Failure",
    "FakeModelServer",
    "FakeRequest",
    "ScriptItem",
    "Turn",
    "replay_script",
    "tool",
]
