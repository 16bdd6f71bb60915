"""Evaluations: how often a campaign's change is right, wrong, red on CI or never proposed.

- `suite.py`: the task suite format (`suite.yaml`), validated by pydantic, with a JSON Schema.
- `runner.py`: each task through the real campaign pipeline on a throwaway local forge, then
  its hidden tests on the pull request's branch; exactly one outcome per task.
- `results.py`: outcomes, the run's JSON, summaries and the comparison of runs.
- `report.py`: the Markdown report and the plots (matplotlib, optional extra `plots`).
- `store.py`: eval runs kept in corral's store (`corral eval runs`, the dashboard).
- `gate_corpus.py`: the labelled gate corpus (`corral eval gate`), apart from task suites.
"""
