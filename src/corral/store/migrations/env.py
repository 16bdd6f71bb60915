"""Alembic environment: migrations run on the connection `corral.store.migrate` passes in,
or, for `alembic revision --autogenerate` by a developer, on `-x url=...`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from corral.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///corral-dev.db")
    with create_engine(url).begin() as dev_connection:
        _run(dev_connection)
