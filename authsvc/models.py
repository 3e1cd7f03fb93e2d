"""SQLAlchemy 2.x typed models: the schema that the alembic revisions in migrations/ create.

Only authsvc.store queries these models; everything else sees the frozen records it returns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_LENGTH = 255
PATTERN_LENGTH = 1024
# The contract's floor for access-token lifetimes: AUTHSVC_TOKEN_TTL and every account's own.
MIN_TOKEN_TTL = 60


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and the zone is put back on the way out. Naive input is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert to UTC (naive on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base; its metadata is alembic's ``target_metadata``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """An account that can log in with a password."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"token_ttl IS NULL OR token_ttl >= {MIN_TOKEN_TTL}", name="token_ttl"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(NAME_LENGTH))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where the account lives: "local" (a password in this table) or "ldap" (a row created at
    # the first directory login, whose password_hash is an unusable marker).
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    # This account's access-token lifetime in seconds; NULL: the server's AUTHSVC_TOKEN_TTL.
    token_ttl: Mapped[int | None] = mapped_column(Integer)

    memberships: Mapped[list[GroupMember]] = relationship(
        back_populates="user", lazy="raise_on_sql", passive_deletes=True
    )


class Group(Base):
    """A named set of users, matched by ACL account patterns ``group:NAME``."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", lazy="raise_on_sql", passive_deletes=True
    )


class GroupMember(Base):
    """Membership of one user in one group."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed: groups_of(user) runs on every token request.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    group: Mapped[Group] = relationship(back_populates="members", lazy="raise_on_sql")
    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise_on_sql")


class DirectoryGroup(Base):
    """A group that a directory (LDAP) reported for a user at their last login.

    Kept apart from ``group_members``: the directory owns these, every login replaces them, and
    an administrator's local groups are never overwritten by a directory's answer.
    """

    __tablename__ = "directory_groups"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)


class AclRuleRow(Base):
    """An ACL rule as stored; authsvc.acl.AclRule is its validated, compiled form."""

    __tablename__ = "acl_rules"
    __table_args__ = (
        CheckConstraint("effect IN ('allow', 'deny')", name="effect"),
        # list_rules reads every rule in this order on (cached) token requests.
        Index("ix_acl_rules_priority_id", "priority", "id"),
        # Ids are shown and used by `acl delete ID`; SQLite would reuse a deleted maximum.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    priority: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    name: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    type: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    service: Mapped[str | None] = mapped_column(String(PATTERN_LENGTH))
    # Comma-separated action names ("pull,push"); empty for deny rules.
    actions: Mapped[str] = mapped_column(String(NAME_LENGTH))
    effect: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(String(PATTERN_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The validity window (either side may be open); checked at decision time, not at load.
    valid_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A catalog rule that grants the catalog filtered to what the account may pull.
    filtered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class RefreshToken(Base):
    """A refresh token (docker's identity token), stored as the SHA-256 of its secret."""

    __tablename__ = "refresh_tokens"
    # Ids are shown and used by `token revoke ID`; SQLite would reuse a deleted maximum.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Unique, hence indexed: every refresh grant looks its token up by this hash, and two
    # tokens with one hash would make the lookup ambiguous.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    service: Mapped[str] = mapped_column(String(NAME_LENGTH))
    client_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="raise_on_sql")


class WebSession(Base):
    """A browser session of the account page, or a sign-in in progress (``user_id`` still None).

    The cookie holds a random secret; the row is found by its SHA-256, as refresh tokens are, so
    a copy of the database gives no usable session. Rows live in the database rather than in
    process memory so that any replica behind a load balancer can serve the next request.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The CSRF token every form of this session must carry (synchronizer token pattern).
    csrf: Mapped[str] = mapped_column(String(64))
    # A sign-in in progress: the OAuth state, OIDC nonce and PKCE verifier, as JSON.
    pending: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class PersonalAccessToken(Base):
    """A personal access token: a user's password substitute with its own scope caps.

    ``token_hash`` is the keyed SHA-256 of the secret (``authsvc.pats``); ``scopes`` holds the
    caps as one space-separated string, the form ``pat create --scope`` takes.
    """

    __tablename__ = "personal_access_tokens"
    # Ids are shown and used by `pat revoke ID`; SQLite would reuse a deleted maximum.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class TrustRow(Base):
    """A workload identity federation trust (``authsvc.trusts``): which ID tokens get what.

    ``conditions`` holds the claim conditions as a JSON list of ``[claim, pattern]`` pairs;
    ``grants`` holds the scope caps as one space-separated string, as PATs store theirs.
    """

    __tablename__ = "trusts"
    # Creation order decides which trust answers first; SQLite would reuse a deleted maximum.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    issuer: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    audience: Mapped[str] = mapped_column(String(NAME_LENGTH))
    conditions: Mapped[str] = mapped_column(String(4096))
    grants: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    ttl: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """Consecutive failed logins for one throttle key (``authsvc.authn.throttle``).

    A row is either per account and address (``username`` set) or per address (``username``
    empty: no user name can be empty). The counts live in the database, not in process memory,
    so every replica on one PostgreSQL sees the same ones.
    """

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class AuditEvent(Base):
    """One audit row: a token issued or refused, a failed login, a throttle decision, a CLI change.

    Never a secret: no password, Authorization header, refresh token or JWT (only the ``jti``).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(NAME_LENGTH), default="", index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    service: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    client_id: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    user_agent: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    jti: Mapped[str] = mapped_column(String(64), default="")
    requested: Mapped[str] = mapped_column(String(PATTERN_LENGTH), default="")
    granted: Mapped[str] = mapped_column(String(PATTERN_LENGTH), default="")
    rule: Mapped[str] = mapped_column(String(PATTERN_LENGTH), default="")
    detail: Mapped[str] = mapped_column(String(PATTERN_LENGTH), default="")
    request_id: Mapped[str] = mapped_column(String(128), default="", server_default="")
