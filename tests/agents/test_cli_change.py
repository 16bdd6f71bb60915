"""`corral change` end to end: the real CLI process, real SDKs, the fake model, the real gate."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from agent_helpers import pytest_repo_files

from corral.agents.transcript import read_transcript
from corral.testing import Call, Failure, FakeModelServer, Turn
from corral.testing.cli import CORRAL
from corral.testing.fake_llm import DEFAULT_MODELS, Protocol
from corral.testing.repos import MakeRepo, git

KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def fix_script() -> list[Turn]:
    return [
        Turn(calls=(Call("read_file", {"path": "calc.py"}),)),
        Turn(calls=(Call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),)),
        Turn(calls=(Call("verify"),)),
        Turn(text="add now returns the sum."),
    ]


def corral_change(
    repo: Path,
    server: FakeModelServer,
    protocol: Protocol,
    cache_dir: Path,
    *extra: str,
    key: str | None = "sk-fake",
) -> subprocess.CompletedProcess[str]:
    prompt = repo.parent / "prompt.md"
    prompt.write_text("test_add fails: make add return the sum of its arguments.\n")
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV.values()}
    if key is not None:
        env[KEY_ENV[protocol]] = key
    argv = [
        CORRAL, "change", str(repo), "--prompt", str(prompt),
        "--agent", "builtin", "--provider", protocol, "--model", DEFAULT_MODELS[protocol],
        "--base-url", server.base_url_for(protocol),
        "--sandbox", "local", "--cache-dir", str(cache_dir), *extra,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize(("protocol", "stream"), [("anthropic", True), ("openai", False)])
def test_change_leaves_a_verified_uncommitted_change(
    protocol: Protocol, stream: bool, make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    transcript = tmp_path / "session.jsonl"
    options = ["--json", "--transcript", str(transcript), *(["--stream"] if stream else [])]
    with FakeModelServer(fix_script()) as server:
        done = corral_change(repo, server, protocol, cache_dir, *options)
        assert server.turns_left == 0
        assert all(r.body.get("stream", False) is stream for r in server.model_requests)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["status"], report["turns"]) == (True, "passed", 4)
    assert report["gate"]["ok"] is True
    assert report["gate"]["stages"][0]["name"] == "verifiers"
    assert report["usage"]["input_tokens"] > 0
    assert git(repo, "status", "--porcelain") == " M calc.py\n", "changed, not committed"
    assert git(repo, "rev-list", "--count", "HEAD") == "1\n"
    kinds = [record["kind"] for record in read_transcript(transcript)]
    assert kinds.count("model_call") == 4 and kinds.count("gate") == 2


def test_change_exits_1_when_the_gate_keeps_failing(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo(pytest_repo_files())
    wrong = Call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a * b"})
    script = [Turn(calls=(wrong,)), *[Turn(text="Done.")] * 4]
    with FakeModelServer(script) as server:
        done = corral_change(repo, server, "openai", cache_dir)
    assert done.returncode == 1, done.stderr
    first_line, gate_message = done.stdout.splitlines()[:2]
    assert first_line.startswith("gate_failed: the gate still failed after 3 retries")
    assert gate_message.startswith("Verification failed: pytest (1 problem)")
    assert "return a * b" in (repo / "calc.py").read_text()


@pytest.mark.parametrize(
    ("key", "script", "expected"),
    [
        (None, [], "no API key for anthropic: environment variable ANTHROPIC_API_KEY is empty"),
        (
            "sk-wrong",
            [Failure(401, "invalid x-api-key")],
            "rejected the API key from environment variable ANTHROPIC_API_KEY (HTTP 401)",
        ),
    ],
    ids=["missing", "rejected"],
)
def test_a_missing_or_rejected_key_is_bad_usage(
    key: str | None, script: list[Failure], expected: str, make_repo: MakeRepo, cache_dir: Path
) -> None:
    repo = make_repo(pytest_repo_files())
    with FakeModelServer(script) as server:
        done = corral_change(repo, server, "anthropic", cache_dir, key=key)
        asked = len(server.model_requests)
    assert done.returncode == 2
    assert expected in " ".join(done.stderr.split())
    assert "sk-wrong" not in done.stderr + done.stdout
    assert asked == len(script)
    assert git(repo, "status", "--porcelain") == ""


def test_bad_usage_exits_2_with_the_reason(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(pytest_repo_files())
    no_prompt = subprocess.run(
        [CORRAL, "change", str(repo), "--provider", "openai", "--model", "m", "--sandbox", "local"],
        capture_output=True,
        text=True,
    )
    no_model = subprocess.run(
        [CORRAL, "change", str(repo), "--prompt", str(repo / "calc.py"), "--sandbox", "local"],
        capture_output=True,
        text=True,
    )
    assert no_prompt.returncode == 2
    assert "--prompt FILE" in no_prompt.stderr
    assert no_model.returncode == 2
    assert "needs a model: --provider and --model" in no_model.stderr
