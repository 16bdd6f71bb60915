"""Structured logs and traces for every job step.

Every step the pipeline runs (`pipeline.machine.advance`) leaves two JSON log lines (started,
then finished or failed) carrying the campaign, job and repository ids, and one
OpenTelemetry span. A job is one trace: its id is derived from the job, so the steps that
different workers run over days still land in the same trace, under a job span that is
emitted when the job ends.

Where logs go (`CORRAL_LOG`): unset, the campaign's `steps.jsonl` in its work folder;
`stderr`; `off`; or a file path. Where spans go (`CORRAL_TRACES`): `none` (the default),
`console` (stderr), or `otlp`, which is also chosen when `OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (needs the `otlp` extra). Nothing is set up at
import; the tracer is built on the first step, or given with `use_tracer_provider`.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from corral.config import ConfigError
from corral.states import TERMINAL

if TYPE_CHECKING:
    from corral.pipeline.context import CampaignContext
    from corral.store.records import Job

TracesTo = Literal["none", "console", "otlp"]
STEP_LOG_FILE = "steps.jsonl"
_TRACER_NAME = "corral.pipeline"


# Logs


def log_destination(campaign_dir: Path) -> Path | Literal["stderr"] | None:
    """Where step logs go: a file, stderr, or nowhere (CORRAL_LOG=off)."""
    value = os.environ.get("CORRAL_LOG", "").strip()
    if not value:
        return campaign_dir / STEP_LOG_FILE
    if value == "off":
        return None
    if value == "stderr":
        return "stderr"
    return Path(value)


def _add_trace_ids(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = trace.format_trace_id(context.trace_id)
        event["span_id"] = trace.format_span_id(context.span_id)
    return event


_PROCESSORS: list[Any] = [
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_trace_ids,
    structlog.processors.JSONRenderer(sort_keys=True),
]


def _write_log(
    destination: Path | Literal["stderr"] | None, level: str, event: str, fields: dict[str, Any]
) -> None:
    """One JSON line. Files are opened for each line (appends of one short line are atomic,
    and a campaign's work folder may be removed between runs)."""
    if destination is None:
        return
    if destination == "stderr":
        _emit(structlog.WriteLogger(sys.stderr), level, event, fields)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("a", encoding="utf-8") as file:
        _emit(structlog.WriteLogger(file), level, event, fields)


def _emit(sink: structlog.WriteLogger, level: str, event: str, fields: dict[str, Any]) -> None:
    logger = structlog.wrap_logger(sink, processors=_PROCESSORS)
    getattr(logger, level)(event, **fields)


# Traces


class _JobSpanIds(RandomIdGenerator):
    """Random ids, except for a job's own span, whose ids are derived from the job."""

    forced: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
        "corral_forced_span_ids", default=None
    )

    def generate_span_id(self) -> int:
        forced = self.forced.get()
        return forced[1] if forced else super().generate_span_id()

    def generate_trace_id(self) -> int:
        forced = self.forced.get()
        return forced[0] if forced else super().generate_trace_id()


class _Tracing:
    """The process's tracer provider, built on first use from the environment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._provider: TracerProvider | None = None
        self._noop = False

    def use(self, provider: TracerProvider | None) -> None:
        with self._lock:
            self._provider, self._noop = provider, provider is None

    def tracer(self) -> trace.Tracer:
        with self._lock:
            if self._provider is None and not self._noop:
                self._provider = provider_from_env()
                self._noop = self._provider is None
            if self._provider is None:
                return trace.NoOpTracer()
            return self._provider.get_tracer(_TRACER_NAME)


_tracing = _Tracing()


def new_tracer_provider() -> TracerProvider:
    """A provider whose job spans get the ids the job's step spans point at as parent."""
    return TracerProvider(id_generator=_JobSpanIds())


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Send the steps' spans to this provider (from `new_tracer_provider`), or nowhere."""
    _tracing.use(provider)


def traces_to() -> TracesTo:
    chosen = os.environ.get("CORRAL_TRACES", "").strip()
    if chosen:
        if chosen not in ("none", "console", "otlp"):
            raise ConfigError(f"CORRAL_TRACES={chosen!r}: use none, console or otlp")
        return chosen  # type: ignore[return-value]
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return "otlp" if any(os.environ.get(name) for name in endpoints) else "none"


def provider_from_env() -> TracerProvider | None:
    chosen = traces_to()
    if chosen == "none":
        return None
    provider = new_tracer_provider()
    if chosen == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        return provider
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            "traces go to an OTLP endpoint, but its exporter is not installed: "
            "pip install 'corral[otlp]'"
        ) from exc
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def job_trace_ids(campaign_id: int, job: Job) -> tuple[int, int]:
    """The (trace id, span id) of a job's own span: stable, so every worker agrees on it."""
    seed = f"corral:{campaign_id}:{job.id}:{job.created_at.isoformat()}".encode()
    digest = hashlib.sha256(seed).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return trace_id, span_id


def _job_context(campaign_id: int, job: Job) -> Any:
    trace_id, span_id = job_trace_ids(campaign_id, job)
    parent = SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _ns(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1e9)


# One step


class ObservedStep:
    """What `observe_step` yields: hand it the job the step returned."""

    def __init__(self, ctx: CampaignContext, job: Job, step: str, span: trace.Span) -> None:
        self.ctx = ctx
        self.job = job
        self.step = step
        self.span = span
        self.result: Job | None = None

    def finish(self, job: Job) -> Job:
        self.result = job
        self.span.set_attribute("corral.state.to", str(job.state))
        if job.reason_code:
            self.span.set_attribute("corral.reason_code", job.reason_code)
        return job


@contextmanager
def observe_step(ctx: CampaignContext, job: Job, step: str) -> Iterator[ObservedStep]:
    """Log and trace one step of one job; exceptions are recorded, then raised again."""
    fields = _job_fields(ctx, job, step)
    destination = log_destination(ctx.campaign_dir)
    tracer = _tracing.tracer()
    attributes = {f"corral.{key}": value for key, value in fields.items() if value is not None}
    started = time.monotonic()
    with tracer.start_as_current_span(
        f"step {step}",
        context=_job_context(ctx.campaign.id, job),
        attributes=attributes,
        record_exception=True,
        set_status_on_exception=True,
    ) as span:
        _write_log(destination, "info", "step started", fields)
        observed = ObservedStep(ctx, job, step, span)
        try:
            yield observed
        except BaseException as exc:
            failed = {**fields, "duration_s": _since(started), "error": _error(exc)}
            _write_log(destination, "error", "step failed", failed)
            raise
        outcome = observed.result
        _write_log(destination, "info", "step finished", _finished(fields, outcome, started))
        if outcome is not None and outcome.state in TERMINAL and job.state not in TERMINAL:
            span.set_status(Status(StatusCode.OK))
            _emit_job_span(tracer, ctx, outcome)


def _emit_job_span(tracer: trace.Tracer, ctx: CampaignContext, job: Job) -> None:
    """The job's root span, from its creation to now, with the ids its steps point at."""
    token = _JobSpanIds.forced.set(job_trace_ids(ctx.campaign.id, job))
    try:
        span = tracer.start_span(
            f"job {job.name}",
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            start_time=_ns(job.created_at),
            attributes={
                "corral.campaign_id": ctx.campaign.id,
                "corral.campaign": ctx.campaign.name,
                "corral.job_id": job.id,
                "corral.repo": job.name,
                "corral.state.to": str(job.state),
                **({"corral.reason_code": job.reason_code} if job.reason_code else {}),
            },
        )
    finally:
        _JobSpanIds.forced.reset(token)
    span.end()


def _job_fields(ctx: CampaignContext, job: Job, step: str) -> dict[str, Any]:
    return {
        "campaign_id": ctx.campaign.id,
        "campaign": ctx.campaign.name,
        "job_id": job.id,
        "repo": job.name,
        "repo_url": job.repo,
        "step": step,
        "state": str(job.state),
    }


def _finished(fields: dict[str, Any], outcome: Job | None, started: float) -> dict[str, Any]:
    done = {**fields, "duration_s": _since(started)}
    if outcome is not None:
        done.update(to_state=str(outcome.state), reason_code=outcome.reason_code)
        if outcome.reason:
            done["reason"] = outcome.reason
    return done


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
