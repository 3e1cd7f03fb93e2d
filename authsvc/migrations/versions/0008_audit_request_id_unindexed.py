"""Drop the index on audit_events.request_id: it cost more than every other audit column.

Request ids are random, so each insert lands at a random leaf of that index. Measured on SQLite,
it doubled the CPU time of an audit row (8 us to 17 us per row), which token requests pay at
thousands of rows per second (#10 keeps the audit within 10 % of T1/T2). No query filters on it:
``audit list --json`` carries the id, and a lookup by id is a rare, operator-driven scan.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop ix_audit_events_request_id."""
    op.drop_index("ix_audit_events_request_id", table_name="audit_events")


def downgrade() -> None:
    """Recreate ix_audit_events_request_id."""
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
