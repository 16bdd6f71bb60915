"""Language models behind one small interface. See README.md in this folder.

Public surface: `ChatModel`, `Message`, `ToolSpec`, `ToolCall`, `ModelReply`, `Usage`,
`ModelSettings`, `make_model`, and the `ModelError` family.
"""

from corral.llm.base import ChatModel, Message, ModelReply, ToolCall, ToolSpec, Usage
from corral.llm.errors import (
    ModelAuthError,
    ModelError,
    ModelRequestError,
    ModelResponseError,
    ModelUnavailableError,
)
from corral.llm.settings import ModelSettings, make_model

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
