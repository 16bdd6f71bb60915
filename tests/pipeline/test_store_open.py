"""Opening the store skips Alembic when the schema is at the shipped head (every command opens
it), and still upgrades a store that is behind."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from corral.store import Store
from corral.store.migrate import alembic_config, head_revision, upgrade


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_store_behind_the_head_is_still_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_engine(url)
    upgrade(engine, "0001")
    Store.open(url).close()
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head_revision()
    Store.open(url).close()  # at the head: opens without Alembic
