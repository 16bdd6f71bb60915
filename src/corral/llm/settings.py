"""Which model to call and how: the settings a campaign or `corral change` gives, and the factory.

There is deliberately no `api_key` field: keys come only from an environment variable or a
file, so a campaign spec can be shared without leaking one (unknown fields are refused).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from corral.config import ConfigError
from corral.llm.base import ChatModel
from corral.llm.errors import ModelAuthError
from corral.llm.pricing import Price

Provider = Literal["anthropic", "openai"]

DEFAULT_KEY_ENV: dict[Provider, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
}


class ModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    provider: Provider
    """`anthropic` (Messages API) or `openai` (Chat Completions, also vLLM, Ollama, llama.cpp)."""
    model: str = Field(min_length=1)
    """The provider's model name, e.g. `claude-sonnet-4-5` or `gpt-4.1`."""
    base_url: str | None = None
    """Another endpoint speaking the same protocol (a gateway, a self-hosted server)."""
    api_key_env: str | None = None
    """The environment variable holding the key (default ANTHROPIC_API_KEY / OPENAI_API_KEY)."""
    api_key_file: Path | None = None
    """A file holding the key; used instead of the environment variable when given."""
    stream: bool = False
    """Stream replies (server-sent events) instead of waiting for the whole answer."""
    max_retries: int = Field(default=4, ge=0)
    """Retries on 429, 5xx, connection errors and timeouts, with backoff honouring Retry-After."""
    timeout_s: float = Field(default=600.0, gt=0)
    """Per-request timeout, in seconds."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Price overrides by model-name prefix, over the built-in table (llm/pricing.py)."""


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: str
    """Where the key came from, for error messages: never the key itself."""

    def __repr__(self) -> str:
        return f"ApiKey(source={self.source!r})"


def resolve_api_key(settings: ModelSettings) -> ApiKey:
    """The key from the settings' file or environment variable; ModelAuthError when absent."""
    if settings.api_key_file is not None:
        source = f"file {settings.api_key_file}"
        try:
            value = settings.api_key_file.read_text().strip()
        except OSError as exc:
            raise ModelAuthError(f"cannot read the API key from {source}: {exc.strerror}") from exc
    else:
        name = settings.api_key_env or DEFAULT_KEY_ENV[settings.provider]
        source = f"environment variable {name}"
        value = os.environ.get(name, "").strip()
    if not value:
        raise ModelAuthError(
            f"no API key for {settings.provider}: {source} is empty or unset "
            "(set it, or name another with api_key_env / api_key_file)"
        )
    return ApiKey(value, source)


def make_model(settings: ModelSettings) -> ChatModel:
    """The adapter for `settings.provider`. Raises ModelAuthError when there is no key."""
    key = resolve_api_key(settings)
    if settings.provider == "anthropic":
        from corral.llm.anthropic import AnthropicModel

        return AnthropicModel(settings, key)
    from corral.llm.openai import OpenAIModel

    return OpenAIModel(settings, key)


def model_from_options(
    provider: str | None,
    model: str | None,
    base_url: str | None,
    *,
    stream: bool = False,
    flags: tuple[str, str] = ("--provider", "--model"),
) -> ModelSettings | None:
    """Model settings from command-line options; None when none were given. `flags` names
    the options in the error (the judge's are --judge-provider and --judge-model)."""
    if provider is None and model is None and base_url is None:
        return None
    if provider not in ("anthropic", "openai") or not model:
        raise ConfigError(f"the model needs {flags[0]} (anthropic or openai) and {flags[1]}")
    return ModelSettings.model_validate(
        {"provider": provider, "model": model, "base_url": base_url, "stream": stream}
    )
