"""Language models behind one small interface. See README.md in this folder.

Public surface: `ChatModel`, `Message`, `ToolSpec`, `ToolCall`, `ModelReply`, `Usage`,
`ModelSettings`, `make_model`, and the `ModelError` family. Each name loads its module on
first use: what needs only `Usage` (the store) does not load pydantic's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS)


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
