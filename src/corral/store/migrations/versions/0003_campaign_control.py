"""campaign control: the engine running it, pause, released waves; webhook deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
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

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_campaign_id", "notifications", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_campaign_id", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("waves_released")
        batch.drop_column("resumed_at")
        batch.drop_column("paused")
        batch.drop_column("engine")
