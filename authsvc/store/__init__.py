"""The SQL store: the only package that queries the database or sees SQLAlchemy's exceptions.

Every function takes an ``AsyncSession`` and returns frozen records, never ORM objects, so no
caller can trigger a lazy load. No function commits: the caller owns the transaction, so one CLI
command or one request is all-or-nothing. ``transaction(sessionmaker)`` commits when its block
succeeds, rolls back otherwise, and turns database failures into ``StoreUnavailable`` or
``QueryFailed``. Writes flush, so a conflict surfaces as ``Conflict`` at the call that caused it.

Callers use the flat namespace (``store.get_user``); the submodules only keep each part small.
"""

from authsvc.store.audit import (
    AuditRecord,
    add_audit_events,
    list_audit_events,
    purge_audit_events,
)
from authsvc.store.common import (
    Conflict,
    GroupRecord,
    NotFound,
    QueryFailed,
    RefreshTokenRecord,
    StoreError,
    StoreUnavailable,
    UserRecord,
)
from authsvc.store.directory_users import (
    UNUSABLE_PASSWORD,
    ensure_directory_user,
    record_directory_login,
    replace_directory_groups,
)
from authsvc.store.groups import (
    add_member,
    create_group,
    delete_group,
    get_group,
    groups_of,
    list_groups,
    remove_member,
)
from authsvc.store.pats import (
    PatRecord,
    create_pat,
    expire_pat,
    get_pat,
    get_pat_by_hash,
    list_pats,
    revoke_pat,
    touch_pat,
)
from authsvc.store.refresh_tokens import (
    create_refresh_token,
    get_refresh_token_by_hash,
    list_refresh_tokens,
    revoke_refresh_token,
    revoke_user_refresh_tokens,
    touch_refresh_token,
)
from authsvc.store.rules import (
    add_rule,
    add_rules,
    delete_rule,
    get_rule,
    list_rules,
    replace_rules,
)
from authsvc.store.session import as_store_error, describe_db_error, transaction
from authsvc.store.throttle import (
    FailureRecord,
    add_login_failure,
    clear_login_failures,
    get_login_failures,
    list_login_failures,
    purge_login_failures,
    reset_login_failures,
)
from authsvc.store.trusts import TrustRecord, create_trust, delete_trust, list_trusts
from authsvc.store.users import (
    count_users,
    create_user,
    delete_user,
    get_user,
    get_user_by_id,
    insert_user,
    list_users,
    list_users_of_source,
    ping,
    record_login,
    set_disabled,
    set_password_hash,
    set_token_ttl,
)
from authsvc.store.web_sessions import (
    WebSessionRecord,
    create_web_session,
    delete_web_session,
    end_web_sessions_of,
    get_web_session,
    purge_expired_web_sessions,
    take_web_session,
)

__all__ = [
    "UNUSABLE_PASSWORD",
    "AuditRecord",
    "Conflict",
    "FailureRecord",
    "GroupRecord",
    "NotFound",
    "PatRecord",
    "QueryFailed",
    "RefreshTokenRecord",
    "StoreError",
    "StoreUnavailable",
    "TrustRecord",
    "UserRecord",
    "WebSessionRecord",
    "add_audit_events",
    "add_login_failure",
    "add_member",
    "add_rule",
    "add_rules",
    "as_store_error",
    "clear_login_failures",
    "count_users",
    "create_group",
    "create_pat",
    "create_refresh_token",
    "create_trust",
    "create_user",
    "create_web_session",
    "delete_group",
    "delete_rule",
    "delete_trust",
    "delete_user",
    "delete_web_session",
    "describe_db_error",
    "end_web_sessions_of",
    "ensure_directory_user",
    "expire_pat",
    "get_group",
    "get_login_failures",
    "get_pat",
    "get_pat_by_hash",
    "get_refresh_token_by_hash",
    "get_rule",
    "get_user",
    "get_user_by_id",
    "get_web_session",
    "groups_of",
    "insert_user",
    "list_audit_events",
    "list_groups",
    "list_login_failures",
    "list_pats",
    "list_refresh_tokens",
    "list_rules",
    "list_trusts",
    "list_users",
    "list_users_of_source",
    "ping",
    "purge_audit_events",
    "purge_expired_web_sessions",
    "purge_login_failures",
    "record_directory_login",
    "record_login",
    "remove_member",
    "replace_directory_groups",
    "replace_rules",
    "reset_login_failures",
    "revoke_pat",
    "revoke_refresh_token",
    "revoke_user_refresh_tokens",
    "set_disabled",
    "set_password_hash",
    "set_token_ttl",
    "take_web_session",
    "touch_pat",
    "touch_refresh_token",
    "transaction",
]
