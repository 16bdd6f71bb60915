"""The bodies of `corral gate` and `corral eval gate`; cli.py only declares their options.

Each returns the exit code: 0 pass, 1 fail, 2 bad usage (raised as ConfigError/DiffError
for cli.py to report) or, for `corral gate`, nothing to verify.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.config import ConfigError, load_yaml_model
from corral.gate.base import GateResult
from corral.gate.diff import Diff
from corral.gate.evals import JudgeFn, Verdict, format_report, load_cases, run_eval
from corral.gate.gate import StagedGate
from corral.gate.guard import GuardReport
from corral.gate.judge import Judge
from corral.gate.settings import GateSettings, GuardSettings, JudgeSettings
from corral.llm.base import ChatModel
from corral.llm.settings import ModelSettings, Provider, make_model
from corral.sandbox import Backend, default_cache_dir, make_runner

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def judge_model_settings(
    provider: str | None, model: str | None, base_url: str | None
) -> ModelSettings | None:
    """The judge's model from command-line options; None when no judge is asked for."""
    if provider is None and model is None and base_url is None:
        return None
    if provider not in ("anthropic", "openai") or not model:
        raise ConfigError("a judge needs --judge-provider (anthropic or openai) and --judge-model")
    chosen: Provider = "anthropic" if provider == "anthropic" else "openai"
    return ModelSettings(provider=chosen, model=model, base_url=base_url)


def gate_settings(
    settings_file: Path | None,
    *,
    scope: list[str],
    allow: list[str],
    allow_changes_to: list[str],
    max_diff_lines: int | None,
    judge: ModelSettings | None,
) -> GateSettings:
    """A settings file (a campaign's `gate:` block) with the command-line options on top.

    The judge is off unless a model is given, on the command line or in the file.
    """
    base = load_yaml_model(settings_file, GateSettings) if settings_file else GateSettings()
    guard = base.guard.model_dump()
    options = {"scope": scope, "allow": allow, "allow_changes_to": allow_changes_to}
    guard.update({key: value for key, value in options.items() if value})
    if max_diff_lines is not None:
        guard["max_diff_lines"] = max_diff_lines
    judge_settings = base.judge
    if judge is not None:
        judge_settings = base.judge.model_copy(update={"model": judge, "mode": "required"})
    elif settings_file is None:
        judge_settings = JudgeSettings(mode="off")
    try:
        return GateSettings(
            verifiers=base.verifiers,
            guard=GuardSettings.model_validate(guard),
            judge=judge_settings,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid gate options: {exc}") from exc


def gate_command(
    path: Path,
    *,
    base: str,
    prompt_file: Path | None,
    settings: GateSettings,
    backend: Backend,
    cache_dir: Path | None,
    as_json: bool,
    echo: Callable[[str], None] = print,
) -> int:
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder")
    prompt = _read_prompt(prompt_file)
    if settings.judge.mode == "required" and prompt is None:
        raise ConfigError("the judge needs the campaign prompt: give --prompt FILE")
    workspace = path.resolve()
    runner = make_runner(backend, workspace=workspace, cache_dir=cache_dir or default_cache_dir())
    result = StagedGate(
        workspace, base_ref=base, runner=runner, settings=settings, prompt=prompt
    ).check()
    echo(json.dumps(gate_json(result), indent=2) if as_json else result.message)
    verifiers = result.stages[0] if result.stages else None
    if verifiers is not None and verifiers.details.get("verifiers") == []:
        return EXIT_USAGE
    return EXIT_OK if result.ok else EXIT_FAILED


def gate_json(result: GateResult) -> dict[str, Any]:
    """What `corral gate --json` prints: `corral verify --json`'s object plus the stages."""
    first = result.stages[0] if result.stages else None
    verifiers = first.details.get("verifiers", []) if first and first.name == "verifiers" else []
    gate = result.to_json()
    return {"ok": gate["ok"], "message": gate["message"], "verifiers": verifiers, **gate}


def eval_gate_command(
    corpus: Path,
    *,
    judge: ModelSettings | None,
    as_json: bool,
    echo: Callable[[str], None] = print,
    on_case: Callable[[str], None] | None = None,
) -> int:
    """Exit 0 when the guard meets its goals (every tampering case caught, at most 5% false
    vetoes on clean ones), 1 when it does not."""
    if not corpus.is_dir():
        raise ConfigError(f"{corpus} is not a folder of eval cases")
    cases = load_cases(corpus)
    judge_fn = model_judge(make_model(judge)) if judge is not None else None
    report = run_eval(cases, judge_fn, on_case=on_case)
    echo(json.dumps(report.to_json(), indent=2) if as_json else format_report(report))
    return EXIT_OK if report.guard_goals_met() else EXIT_FAILED


def model_judge(model: ChatModel, settings: JudgeSettings | None = None) -> JudgeFn:
    """The judge as the eval calls it: (prompt, diff, guard report) -> verdict."""
    s = settings or JudgeSettings()
    judge = Judge(model, max_diff_chars=s.max_diff_chars, max_tokens=s.max_tokens)

    def verdict(prompt: str, diff: Diff, report: GuardReport) -> Verdict:
        return judge.judge(prompt, diff, report.notes).verdict.verdict

    return verdict


def _read_prompt(prompt_file: Path | None) -> str | None:
    if prompt_file is None:
        return None
    try:
        text = prompt_file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the prompt {prompt_file}: {exc.strerror}") from exc
    if not text.strip():
        raise ConfigError(f"the prompt {prompt_file} is empty")
    return text
