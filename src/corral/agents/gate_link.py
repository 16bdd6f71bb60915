"""How `corral mcp` and `corral hook claude-stop`, started by a third-party agent, reach the
gate of the job that started that agent.

The backend serves its `Gate` on a Unix socket in a private folder (never the workspace,
which must stay clean) and writes a small job file beside it, `job.json`:
`{"workspace": ..., "socket": ...}`. The MCP server and the hook are given the job file's
path (`--job`) and ask the socket for a check. The gate itself (its baseline, judge model
and recorder) stays in the backend's process, so every `verify` call and every attempt to
stop is judged by the same gate the job commits with, one check at a time.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from corral.gate.base import Gate, GateResult, StageResult
from corral.sandbox import Backend

JOB_FILE_NAME = "job.json"
_CHECK_REQUEST = b"check\n"
_RESULT = TypeAdapter(GateResult)


class JobFileError(ValueError):
    """The job file is missing or invalid; the message says which and why."""


class JobFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Path
    """The checkout the job's gate judges."""
    socket: Path
    """Where the job's gate answers `check` requests."""

    @classmethod
    def load(cls, path: Path) -> JobFile:
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise JobFileError(f"cannot read the job file {path}: {exc.strerror}") from exc
        except ValidationError as exc:
            raise JobFileError(f"{path} is not a corral job file: {exc}") from exc


class GateServer:
    """Context manager: serves `gate.check()` on a socket in `folder` and writes the job file.

    One check at a time, in a background thread; entering returns the job file's path.
    """

    def __init__(self, gate: Gate, workspace: Path, folder: Path) -> None:
        self.job = JobFile(workspace=workspace.resolve(), socket=folder / "gate.sock")
        self.job_path = folder / JOB_FILE_NAME
        self._server = _CheckServer(str(self.job.socket), _CheckHandler)
        self._server.gate = gate
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Path:
        self._thread.start()
        self.job_path.write_text(self.job.model_dump_json(), encoding="utf-8")
        return self.job_path

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.job.socket.unlink(missing_ok=True)


class _CheckServer(socketserver.UnixStreamServer):
    gate: Gate


class _CheckHandler(socketserver.StreamRequestHandler):
    server: _CheckServer

    def handle(self) -> None:
        if self.rfile.readline() != _CHECK_REQUEST:
            return
        try:
            result = self.server.gate.check()
        except Exception as exc:  # the gate fails closed; so does this link to it
            result = unreachable_gate(f"{type(exc).__name__}: {exc}")
        self.wfile.write(_RESULT.dump_json(result))


class RemoteGate:
    """Implements `Gate` by asking the job's gate server; fails closed when it cannot."""

    def __init__(self, job: JobFile) -> None:
        self.job = job

    def check(self) -> GateResult:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(self.job.socket))
                conn.sendall(_CHECK_REQUEST)
                conn.shutdown(socket.SHUT_WR)
                answer = b"".join(iter(lambda: conn.recv(65536), b""))
            return _RESULT.validate_json(answer)
        except (OSError, ValidationError) as exc:
            return unreachable_gate(f"the job's gate at {self.job.socket} did not answer: {exc}")


def unreachable_gate(why: str) -> GateResult:
    message = (
        f"The gate could not run ({why}). Nothing can pass until it runs; "
        "this is not a problem in your change."
    )
    stage = StageResult("gate", ok=False, message=message, details={"could_not_run": True})
    return GateResult(ok=False, message=message, stages=[stage])


def open_gate(
    *,
    job: Path | None,
    workspace: Path,
    base: str | None,
    sandbox: Backend,
    cache_dir: Path,
    settings_file: Path | None = None,
) -> Gate:
    """The gate a surface (MCP server, hook) answers with: the job's when a job file is
    given, else one built here on `workspace` against `base`.

    Raises JobFileError, ConfigError, DiffError or SandboxUnavailableError with a clear message.
    """
    if job is not None:
        return RemoteGate(JobFile.load(job))
    if base is None:
        raise JobFileError("say which gate to run: --job FILE, or --base REF for this checkout")
    from corral.config import load_yaml_model
    from corral.gate.gate import StagedGate
    from corral.gate.settings import GateSettings
    from corral.sandbox import make_runner

    settings = (
        GateSettings() if settings_file is None else load_yaml_model(settings_file, GateSettings)
    )
    workspace = workspace.resolve()
    runner = make_runner(sandbox, workspace=workspace, cache_dir=cache_dir)
    return StagedGate(workspace, base_ref=base, runner=runner, settings=settings)
