"""Login throttling counts and the audit trail.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create login_failures and audit_events."""
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", "address", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_blocked_until", "login_failures", ["blocked_until"])
    text = {"nullable": False}
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), **text),
        sa.Column("address", sa.String(64), **text),
        sa.Column("service", sa.String(255), **text),
        sa.Column("client_id", sa.String(255), **text),
        sa.Column("user_agent", sa.String(255), **text),
        sa.Column("jti", sa.String(64), **text),
        sa.Column("requested", sa.String(1024), **text),
        sa.Column("granted", sa.String(1024), **text),
        sa.Column("rule", sa.String(1024), **text),
        sa.Column("detail", sa.String(1024), **text),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_event", "audit_events", ["event"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"])


def downgrade() -> None:
    """Drop audit_events and login_failures."""
    op.drop_table("audit_events")
    op.drop_table("login_failures")
