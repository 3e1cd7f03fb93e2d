"""The request id on audit rows (the id on the request's log lines and X-Request-Id).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add audit_events.request_id (empty for the rows written before)."""
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("request_id", sa.String(128), nullable=False, server_default=""))
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])


def downgrade() -> None:
    """Drop audit_events.request_id."""
    op.drop_index("ix_audit_events_request_id", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("request_id")
