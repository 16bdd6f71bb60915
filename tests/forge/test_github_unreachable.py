"""An unreachable GitHub API is one clear line in seconds, not minutes of silent retries."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from corral.forge.base import ForgeError
from corral.forge.github import GitHubForge, GitHubSettings
from corral.spec import ForgeQuery


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections are refused


def test_an_unreachable_api_fails_fast_with_one_line(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{closed_port()}"
    forge = GitHubForge(GitHubSettings(token="ghp_secret", api_url=api, web_url=api), tmp_path)
    started = time.monotonic()
    with pytest.raises(ForgeError) as caught:
        forge.find_repositories(ForgeQuery(github_org="octo"))
    took = time.monotonic() - started
    message = str(caught.value)
    assert f"{api} cannot be reached: " in message and "Connection refused" in message
    assert "\n" not in message and "ghp_secret" not in message
    assert took < 10, f"{took:.1f}s"
