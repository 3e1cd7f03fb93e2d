"""Workload identity federation: trusts that let OpenID Connect ID tokens log in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create trusts."""
    op.create_table(
        "trusts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("audience", sa.String(255), nullable=False),
        sa.Column("conditions", sa.String(4096), nullable=False),
        sa.Column("grants", sa.String(1024), nullable=False),
        sa.Column("ttl", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trusts"),
        sa.UniqueConstraint("name", name="uq_trusts_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_trusts_issuer", "trusts", ["issuer"])


def downgrade() -> None:
    """Drop trusts."""
    op.drop_index("ix_trusts_issuer", table_name="trusts")
    op.drop_table("trusts")
