"""An invalid spec is refused before anything runs, naming file, line, field and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from campaign_helpers import corral

from corral.config import ConfigError
from corral.spec import load_spec, selected_targets

SPEC = """\
name: headers
command: ./add-headers.sh
targets:
  repos:
    - ../repos/api
    - repo: git@example.com:team/web.git
      workspace: frontend
  exclude: ["*legacy*"]
budgets:
  job:
    max_turns: {max_turns}
pull_request:
  title: "{title}"
"""


def _spec(tmp_path: Path, max_turns: str = "20", title: str = "Add headers") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(max_turns=max_turns, title=title))
    return path


def test_invalid_spec_is_refused_with_file_line_and_field(tmp_path: Path) -> None:
    spec = _spec(tmp_path, max_turns="0")
    store = tmp_path / "store.db"
    result = corral("run", str(spec), "--store", str(store), "--sandbox", "local")
    assert result.returncode == 2
    assert f"{spec}:11 budgets.job.max_turns: Input should be greater than 0" in result.stderr
    assert not store.exists()  # refused before anything ran


def test_unknown_template_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"spec.yaml:13 pull_request.title: .*\['ticket'\]"):
        load_spec(_spec(tmp_path, title="{campaign} {ticket}"))


def test_change_must_be_a_prompt_or_a_command(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: x\nprompt: do it\ncommand: sed -i s/a/b/ f\ntargets: {repos: [a]}\n")
    with pytest.raises(ConfigError, match="exactly one of prompt, prompt_file, command or steps"):
        load_spec(path)


def test_targets_are_resolved_against_the_spec(tmp_path: Path) -> None:
    targets = selected_targets(load_spec(_spec(tmp_path)))
    assert [(t.repo, t.display_name) for t in targets] == [
        (str((tmp_path / "../repos/api").resolve()), "api"),
        ("git@example.com:team/web.git", "web/frontend"),
    ]


def test_schema_is_printed(tmp_path: Path) -> None:
    result = corral("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"name", "command", "prompt", "targets", "gate", "approval"} <= set(schema["properties"])
    assert schema["required"] == ["name", "targets"]
