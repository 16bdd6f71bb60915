"""Forge fixtures: Prism serving GitHub's OpenAPI description behind a recording front, and
token-guarded git over HTTP. npm tools install once per machine into a cache folder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from forge_servers import (
    OCTOKIT_OPENAPI_VERSION,
    PRISM_VERSION,
    Recorder,
    cut_description,
    install_npm_tools,
    prism,
)

GITHUB_OPERATIONS = {
    "/repos/{owner}/{repo}/pulls": {"get", "post"},
    "/repos/{owner}/{repo}/pulls/{pull_number}": {"get", "patch"},
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": {"post"},
    "/repos/{owner}/{repo}/commits/{ref}/check-runs": {"get"},
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations": {"get"},
    "/repos/{owner}/{repo}/commits/{ref}/status": {"get"},
    "/orgs/{org}/repos": {"get"},
    "/search/repositories": {"get"},
    "/search/code": {"get"},
}
"""Every GitHub operation the forge calls; a call to any other is refused (404) and fails."""


@pytest.fixture(scope="session")
def npm_tools() -> Path:
    root = Path(os.environ.get("CORRAL_NPM_TOOLS", Path.home() / ".cache" / "corral" / "npm-tools"))
    install_npm_tools(
        root,
        {"@stoplight/prism-cli": PRISM_VERSION, "@octokit/openapi": OCTOKIT_OPENAPI_VERSION},
    )
    return root


@pytest.fixture(scope="session")
def github_api(npm_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorder]:
    """A recording front for Prism serving GitHub's description (api.github.com)."""
    published = npm_tools / "node_modules/@octokit/openapi/generated/api.github.com.json"
    description = tmp_path_factory.mktemp("github-api") / "api.github.com.json"
    cut = cut_description(json.loads(published.read_text()), GITHUB_OPERATIONS)
    description.write_text(json.dumps(cut))
    with prism(npm_tools, description) as url:
        front = Recorder(url)
        try:
            yield front
        finally:
            front.close()


@pytest.fixture
def recorder(github_api: Recorder) -> Iterator[Recorder]:
    """The GitHub front with no history and no script left over from another test."""
    github_api.reset()
    yield github_api
    github_api.reset()
