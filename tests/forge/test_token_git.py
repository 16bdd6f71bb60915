"""Clone and push through both hosted forges over real git smart HTTP that demands the token:
the token works, and it is nowhere a workspace, the sandbox or an error message can see."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from forge_servers import GitHttpServer, basic_auth

from corral.forge.base import Forge, ForgeError
from corral.forge.github import GitHubForge, GitHubSettings
from corral.forge.gitlab import GitLabForge, GitLabSettings
from corral.sandbox.env import sandbox_env
from corral.testing.repos import git, init_repo, write_files

TOKEN = "tok-corral-0123456789abcdef"
MakeForge = Callable[[str, str, Path], Forge]


def github(url: str, token: str, work_dir: Path) -> Forge:
    return GitHubForge(
        GitHubSettings(token=token, api_url="http://127.0.0.1:9", web_url=url), work_dir
    )


def gitlab(url: str, token: str, work_dir: Path) -> Forge:
    return GitLabForge(GitLabSettings(token=token, url=url), work_dir)


FORGES = {"github": (github, "x-access-token"), "gitlab": (gitlab, "oauth2")}


@pytest.fixture(params=sorted(FORGES))
def hosted(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[MakeForge, GitHttpServer]]:
    """A forge kind and a git server holding `octo/hello` that wants that forge's header."""
    make, username = FORGES[request.param]
    seed = init_repo(tmp_path / "seed", {"README.md": "hello\n"})
    bare = tmp_path / "served" / "octo" / "hello.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    server = GitHttpServer(tmp_path / "served", basic_auth(username, TOKEN))
    yield make, server
    server.close()


def files_containing(root: Path, *needles: str) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and any(n.encode() in path.read_bytes() for n in needles)
    ]


def test_clone_and_push_keep_the_token_on_the_host(
    hosted: tuple[MakeForge, GitHttpServer], tmp_path: Path
) -> None:
    make, server = hosted
    forge = make(server.url, TOKEN, tmp_path / "forge")
    repo = f"{server.url}/octo/hello"
    workspace = tmp_path / "workspace"

    checkout = forge.checkout(repo, workspace)
    hook = workspace / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nenv > {tmp_path / 'leaked'}\n")  # as a repo's tests might
    hook.chmod(0o755)
    write_files(workspace, {"README.md": "hello, corral\n"})
    git(workspace, "commit", "-qam", "change")
    pushed = forge.push(workspace, repo, "corral/bump")

    assert checkout.base_branch == "main"
    assert (workspace / "README.md").read_text() == "hello, corral\n"
    bare = tmp_path / "served" / "octo" / "hello.git"
    assert git(bare, "rev-parse", "refs/heads/corral/bump").strip() == pushed
    assert server.authorized > 0 and server.refused == 0
    assert not (tmp_path / "leaked").exists()  # the push did not run in the workspace
    remote = git(workspace, "remote", "get-url", "origin").strip()
    assert not remote.startswith("http")  # the workspace's remote is the host-side mirror
    encoded = base64.b64encode(TOKEN.encode()).decode()[:12]
    assert files_containing(tmp_path / "forge", TOKEN, encoded) == []
    assert files_containing(workspace, TOKEN, encoded) == []


def test_a_fresh_checkout_sees_what_the_remote_gained(
    hosted: tuple[MakeForge, GitHttpServer], tmp_path: Path
) -> None:
    make, server = hosted
    forge = make(server.url, TOKEN, tmp_path / "forge")
    repo = f"{server.url}/octo/hello"
    first = forge.checkout(repo, tmp_path / "workspace")
    other = tmp_path / "other"
    forge.checkout(repo, other)
    write_files(other, {"NEWS.md": "news\n"})
    git(other, "add", "-A")
    git(other, "commit", "-qm", "news")
    forge.push(other, repo, "main")

    again = forge.checkout(repo, tmp_path / "workspace")

    assert again.base_sha != first.base_sha
    assert (tmp_path / "workspace" / "NEWS.md").is_file()


def test_a_wrong_token_fails_without_showing_it(
    hosted: tuple[MakeForge, GitHttpServer], tmp_path: Path
) -> None:
    make, server = hosted
    wrong = "tok-wrong-fedcba9876543210"
    forge = make(server.url, wrong, tmp_path / "forge")

    with pytest.raises(ForgeError, match="git clone failed") as caught:
        forge.checkout(f"{server.url}/octo/hello", tmp_path / "workspace")
    assert wrong not in str(caught.value)
    assert server.refused > 0 and server.authorized == 0


def test_forge_tokens_never_reach_the_sandbox() -> None:
    host = {"PATH": "/usr/bin", "GITHUB_TOKEN": TOKEN, "GH_TOKEN": TOKEN, "GITLAB_TOKEN": TOKEN}

    env = sandbox_env(host, None, home="/home/sandbox", network="none")

    assert TOKEN not in env.values()
    assert env["PATH"] == "/usr/bin"
