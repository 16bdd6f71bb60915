"""What the eval tests that run agents share: the scripted model server and its judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corral.llm.settings import ModelSettings
from corral.testing.fake_llm import FakeModelServer
from corral.testing.scripted_agents import scripted_server


@pytest.fixture
def server(fake_model_keys: str) -> Iterator[FakeModelServer]:
    with scripted_server() as running:
        yield running


@pytest.fixture
def scope_judge(server: FakeModelServer) -> ModelSettings:
    """The judge the scripted server answers as a scope check."""
    return ModelSettings(provider="openai", model="scope-judge", base_url=server.openai_base_url)
