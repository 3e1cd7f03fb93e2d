"""Directory users: where each account lives, and the groups a directory reported for it.

``users.source`` is ``local`` for every existing row; an LDAP login creates rows with ``ldap``.
``directory_groups`` holds the groups seen at a directory user's last login, so that ACL checks
(``authsvc acl check`` too) work for that user without asking the directory.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
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
    """Add users.source and create directory_groups."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="local"))
    op.create_table(
        "directory_groups",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_directory_groups_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "name", name="pk_directory_groups"),
    )


def downgrade() -> None:
    """Drop directory_groups and users.source."""
    op.drop_table("directory_groups")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("source")
