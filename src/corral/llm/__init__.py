"""Language models behind one small interface. See README.md in this folder.

Public surface: `ChatModel`, `Message`, `ToolSpec`, `ToolCall`, `ModelReply`, `Usage`,
`ModelSettings`, `make_model`, and the `ModelError` family. Each name loads its module on
first use: what needs only `Usage` (the store) does not load pydantic's settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    **dict.fromkeys(
        ("ChatModel", "Message", "ModelReply", "ToolCall", "ToolSpec", "Usage"), "corral.llm.base"
    ),
    **dict.fromkeys(
        (
            "ModelAuthError",
            "ModelError",
            "ModelRequestError",
            "ModelResponseError",
            "ModelUnavailableError",
        ),
        "corral.llm.errors",
    ),
    **dict.fromkeys(("ModelSettings", "make_model"), "corral.llm.settings"),
}

__all__ = [
    "ChatModel",
    "Message",
    "ModelAuthError",
    "ModelError",
    "ModelReply",
    "ModelRequestError",
    "ModelResponseError",
    "ModelSettings",
    "ModelUnavailableError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "make_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corral.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from corral.llm.base import ChatModel, Message, ModelReply, ToolCall, ToolSpec, Usage
    from corral.llm.errors import (
        ModelAuthError,
        ModelError,
        ModelRequestError,
        ModelResponseError,
        ModelUnavailableError,
    )
    from corral.llm.settings import ModelSettings, make_model
