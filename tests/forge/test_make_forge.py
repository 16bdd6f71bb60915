"""A campaign's `forge:` picks the client; hosted forges take their token from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gitlab_api import GitLabApi

from corral.config import ConfigError
from corral.forge import LocalForge, find_repositories, make_forge
from corral.forge.github import GitHubForge
from corral.forge.gitlab import GitLabForge
from corral.spec import CampaignSpec

TOKEN = "tok-make-forge-0123456789"


def spec(forge: str, **targets: Any) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {"name": "bump", "command": "true", "forge": forge,
         "targets": targets or {"repos": ["https://example.invalid/octo/hello"]}}
    )  # fmt: skip


def build(campaign: CampaignSpec, tmp_path: Path) -> object:
    return make_forge(campaign, None, work_dir=tmp_path, ci_runner=None)  # type: ignore[arg-type]


def test_each_forge_name_gets_its_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)

    assert isinstance(build(spec("local"), tmp_path), LocalForge)
    assert isinstance(build(spec("github"), tmp_path), GitHubForge)
    assert isinstance(build(spec("gitlab"), tmp_path), GitLabForge)


@pytest.mark.parametrize(
    ("forge", "variable"), [("github", "GITHUB_TOKEN"), ("gitlab", "GITLAB_TOKEN")]
)
def test_a_hosted_forge_without_a_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forge: str, variable: str
) -> None:
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(ConfigError, match=variable):
        build(spec(forge), tmp_path)


def test_a_group_query_resolves_to_repository_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    api = GitLabApi(TOKEN)
    api.group_projects = ["platform/billing"]
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("GITLAB_URL", api.url)
    try:
        found = find_repositories(spec("gitlab", query={"gitlab_group": "platform"}), tmp_path)
    finally:
        api.close()

    assert found == [f"{api.url}/platform/billing"]
    assert find_repositories(spec("gitlab"), tmp_path) == []
    with pytest.raises(ConfigError, match="local"):
        find_repositories(spec("local", query={"github_org": "octo"}), tmp_path)
