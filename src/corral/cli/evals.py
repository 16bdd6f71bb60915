"""`corral eval ...`: corral's checks measured on labelled corpora and task suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from corral.cli.app import JsonOpt, app, run_body, spinner
from corral.cli.exit_codes import passed
from corral.cli.gate import JUDGE_FLAGS, JudgeBaseUrlOpt, JudgeModelOpt, JudgeProviderOpt

eval_app = typer.Typer(no_args_is_help=True, help="Measure corral's checks on labelled corpora.")
app.add_typer(eval_app, name="eval")


@eval_app.command("gate")
def eval_gate(
    corpus: Annotated[
        Path, typer.Argument(help="Folder of labelled cases (default: evals/gate).")
    ] = Path("evals/gate"),
    as_json: JsonOpt = False,
    judge_provider: JudgeProviderOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
) -> None:
    """The guard (and the judge, when a model is set) on every case: catches, misses, false
    vetoes. Exit 0 when every tampering case is caught with at most 5% false vetoes."""

    def body() -> int:
        from corral.config import ConfigError
        from corral.evals.gate_corpus import format_report, load_cases, model_judge, run_eval
        from corral.llm.settings import make_model, model_from_options

        if not corpus.is_dir():
            raise ConfigError(f"{corpus} is not a folder of eval cases")
        judge = model_from_options(judge_provider, judge_model, judge_base_url, flags=JUDGE_FLAGS)
        cases = load_cases(corpus)
        judge_fn = model_judge(make_model(judge)) if judge is not None else None
        with spinner("evaluating") as status:
            report = run_eval(cases, judge_fn, on_case=status)
        print(json.dumps(report.to_json(), indent=2) if as_json else format_report(report))
        return passed(report.guard_goals_met())

    run_body(body)
