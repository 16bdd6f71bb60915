"""Campaign fixtures: a real PostgreSQL server, a fresh store per test on each backend."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("CORRAL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A server URL (without database): $CORRAL_TEST_POSTGRES_URL, or a throwaway server."""
    url = os.environ.get("CORRAL_TEST_POSTGRES_URL")
    if url:
        yield url.rstrip("/")
        return
    if not (PG_BIN / "initdb").is_file():
        pytest.fail(f"PostgreSQL is not installed at {PG_BIN} (scripts/test.sh installs it)")
    data = Path(tempfile.mkdtemp(prefix="corral-pg-"))
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(data, pg.pw_uid, pg.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "corral"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data / "db"), "-w"]
    subprocess.run(
        _as_postgres([*pg_ctl, "-o", options, "-l", str(data / "log"), "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://corral@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def _new_database(server: str) -> str:
    import psycopg

    name = f"corral_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def new_store(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """new_store(): the URL of an empty store on the module's backend."""

    def make() -> str:
        if backend == "sqlite":
            return str(tmp_path_factory.mktemp("store") / "corral.db")
        server: str = request.getfixturevalue("postgres_server")
        return _new_database(server)

    return make
