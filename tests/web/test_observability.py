"""Every job step leaves JSON log lines and a span; a job is one trace under a job span."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from web_helpers import notes_spec, run_notes_campaign

from corral.config import ConfigError
from corral.pipeline import observability
from corral.testing.repos import make_remote, notes_repo


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = observability.new_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observability.use_tracer_provider(provider)
    yield exporter
    observability.use_tracer_provider(None)


def test_each_step_is_logged_and_traced_under_its_job(
    tmp_path: Path, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "logs" / "corral.jsonl"
    monkeypatch.setenv("CORRAL_LOG", str(log))
    good = make_remote(tmp_path / "forge", "good", notes_repo())
    blocked = make_remote(tmp_path / "forge", "blocked", notes_repo())
    spec = notes_spec(
        "observed",
        [good, blocked],
        command="case $PWD in *blocked*) echo TODO >> NOTES.md;; *) echo ok >> NOTES.md;; esac",
    )
    summary = run_notes_campaign(spec, str(tmp_path / "corral.db"), tmp_path / "work")
    jobs = {line.job.name: line.job for line in summary.lines}
    assert jobs["blocked"].reason_code == "gate_vetoed"

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    for line in lines:
        assert line["campaign"] == "observed" and line["campaign_id"] == summary.campaign.id
        assert line["job_id"] == jobs[line["repo"]].id
        assert line["repo_url"] == jobs[line["repo"]].repo
        assert line["level"] in ("info", "error") and line["timestamp"].endswith("Z")
    good_steps = [(entry["event"], entry["step"]) for entry in lines if entry["repo"] == "good"]
    for step in ("prepare", "baseline", "change", "commit", "push", "open_pr", "watch"):
        assert ("step started", step) in good_steps
        assert ("step finished", step) in good_steps
    finished = next(
        entry
        for entry in lines
        if entry["repo"] == "blocked"
        and entry["step"] == "change"
        and entry["event"] == "step finished"
    )
    assert finished["to_state"] == "failed" and finished["reason_code"] == "gate_vetoed"
    assert finished["duration_s"] > 0

    by_name = {}
    for span in spans.get_finished_spans():
        by_name.setdefault(span.name, []).append(span)
    [job_span] = by_name["job blocked"]  # only the ended job has its span yet
    steps = [
        s
        for s in spans.get_finished_spans()
        if s.attributes
        and s.attributes.get("corral.job_id") == jobs["blocked"].id
        and s.name.startswith("step ")
    ]
    assert {s.name for s in steps} == {"step prepare", "step baseline", "step change"}
    for step_span in steps:
        assert step_span.context.trace_id == job_span.context.trace_id
        assert step_span.parent is not None and step_span.parent.span_id == job_span.context.span_id
    assert job_span.attributes["corral.state.to"] == "failed"
    good_trace = {
        s.context.trace_id
        for s in spans.get_finished_spans()
        if s.attributes.get("corral.repo") == "good"
    }
    assert len(good_trace) == 1 and good_trace != {job_span.context.trace_id}
    # the log lines carry the job's trace id, so logs and traces meet
    assert {entry["trace_id"] for entry in lines if entry["repo"] == "blocked"} == {
        f"{job_span.context.trace_id:032x}"
    }


def test_a_configured_otlp_endpoint_needs_its_exporter_or_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.delenv("CORRAL_TRACES", raising=False)
    assert observability.traces_to() == "otlp"
    monkeypatch.setenv("CORRAL_TRACES", "zipkin")
    with pytest.raises(ConfigError, match="CORRAL_TRACES"):
        observability.traces_to()
