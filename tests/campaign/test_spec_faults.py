"""Spec faults end before anything runs: one line, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_helpers import corral

from corral.config import ConfigError
from corral.spec import branch_name_problem, load_spec


def run_spec(tmp_path: Path, spec: Path) -> tuple[int, str, bool]:
    store = tmp_path / "store.db"
    done = corral("run", str(spec), "--store", str(store), "--sandbox", "local")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, " ".join(done.stderr.split()), store.exists()


def test_a_spec_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes("name: caf\u00e9\ncommand: ./x.sh\ntargets: [a]\n".encode("latin-1"))
    code, stderr, ran = run_spec(tmp_path, spec)
    assert code == 2 and not ran
    assert f"{spec}:1: not UTF-8 text (byte 0xe9); save it as UTF-8" in stderr


def test_a_prompt_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "prompt.md").write_bytes(b"Fix \xff it\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: p\nprompt_file: prompt.md\ntargets: [a]\n")
    with pytest.raises(ConfigError, match=r"prompt.md:1: not UTF-8 text \(byte 0xff\)"):
        load_spec(spec)


@pytest.mark.parametrize(
    ("branch", "why"),
    [
        ("corral/{campaign} now", "contains ' '"),
        ("corral..{campaign}", "contains .., // or @{"),
        ("{campaign}.lock", "ends with . or .lock"),
        ("-{campaign}", "starts with - or /"),
        ("corral/{campaign}:x", "contains ':'"),
    ],
)
def test_an_invalid_branch_template_is_refused_at_validation(
    branch: str, why: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: b\ncommand: ./x.sh\ntargets: [a]\npull_request:\n  branch: '{branch}'\n"
    )
    code, stderr, ran = run_spec(tmp_path, spec)
    assert code == 2 and not ran
    assert "pull_request.branch" in stderr and "does not make a valid branch name" in stderr
    assert why in stderr


def test_valid_branch_names_pass() -> None:
    for name in ("corral/x", "feature/x-1.2", "a_b/c"):
        assert branch_name_problem(name) is None


def test_targets_as_a_plain_list_are_the_repos(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: l\ncommand: ./x.sh\ntargets:\n  - ../repos/api\n  - ../repos/web\n")
    loaded = load_spec(spec)
    assert [getattr(t, "repo", t) for t in loaded.targets.repos] == [
        str(tmp_path.parent / "repos" / "api"),
        str(tmp_path.parent / "repos" / "web"),
    ]
