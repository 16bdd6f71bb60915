"""pull request freshness and CI triage on the job row: what `corral status` shows per PR

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("freshness", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("ci_verdict", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("refreshed_at")
        batch.drop_column("ci_verdict")
        batch.drop_column("freshness")
