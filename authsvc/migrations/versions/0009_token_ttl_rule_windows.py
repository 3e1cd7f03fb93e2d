"""Per-account access-token lifetimes, ACL rule validity windows and filtered catalog rules.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.token_ttl and acl_rules.valid_from, valid_until and filtered.

    Plain ADD COLUMNs, with the check constraint on the column and a string server default: on
    SQLite anything else makes batch mode copy the table, and a copied acl_rules would lose its
    AUTOINCREMENT (rule ids must never be reused).
    """
    ttl_check = sa.CheckConstraint(
        "token_ttl IS NULL OR token_ttl >= 60", name=op.f("ck_users_token_ttl")
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_ttl", sa.Integer(), ttl_check, nullable=True))
    with op.batch_alter_table("acl_rules") as batch:
        batch.add_column(sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("filtered", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the columns again, first deleting the rules that would grant more without them.

    Without its flag a filtered rule would grant the whole catalog, and without its window an
    allow rule would grant for ever: both are deleted. A deny rule keeps denying, now always.
    """
    op.execute(
        sa.text(
            "DELETE FROM acl_rules WHERE filtered OR (effect = 'allow' AND "
            "(valid_from IS NOT NULL OR valid_until IS NOT NULL))"
        )
    )
    # SQLite copies the table to drop columns: keep rule ids from being reused.
    with op.batch_alter_table("acl_rules", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("filtered")
        batch.drop_column("valid_until")
        batch.drop_column("valid_from")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_token_ttl"), type_="check")
        batch.drop_column("token_ttl")
