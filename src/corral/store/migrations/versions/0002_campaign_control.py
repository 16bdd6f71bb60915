"""campaign control: the engine running it, pause, released waves

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("engine", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("paused", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("waves_released", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("waves_released")
        batch.drop_column("resumed_at")
        batch.drop_column("paused")
        batch.drop_column("engine")
