"""Talking to an LDAP directory with python-ldap: find a user, bind as them, read their groups.

Every function here blocks (python-ldap wraps OpenLDAP's synchronous libldap), so the LDAP
authenticator runs them in a thread pool, bounded by the configured connect and operation
timeouts. One connection per login: the verified-credential cache makes real logins rare, and a
fresh connection never carries a previous user's bind.

User names reach the directory only escaped: RFC 4515 §3 for filter values (``*``, ``(``, ``)``,
``\\`` and NUL become ``\\2a`` and so on) and RFC 4514 §2.4 for DN attribute values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import ldap
import ldap.dn
import ldap.filter

from authsvc.config import LdapConfig

log = logging.getLogger(__name__)

# Failures of the transport or the server rather than of the credentials.
_OUTAGES = (
    ldap.SERVER_DOWN,
    ldap.CONNECT_ERROR,
    ldap.TIMEOUT,
    ldap.TIMELIMIT_EXCEEDED,
    ldap.UNAVAILABLE,
    ldap.BUSY,
)


class DirectoryUnavailable(Exception):
    """The directory could not be asked (down, timed out, TLS failure, misconfigured)."""


class BindRefused(Exception):
    """The directory refused the user's password (wrong, locked or expired account)."""


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A user the directory authenticated: their DN and the names of their groups (the cn)."""

    dn: str
    groups: frozenset[str]
    # False when a cache answered from an earlier bind (whose groups are stored already).
    verified_now: bool = True


def filter_for(template: str, **values: str) -> str:
    """``template`` with each ``{key}`` replaced by its value escaped per RFC 4515 §3."""
    result = template
    for key, value in values.items():
        result = result.replace("{" + key + "}", ldap.filter.escape_filter_chars(value))
    return result


def dn_for(template: str, username: str) -> str:
    """``template`` with ``{username}`` replaced by the name escaped as a DN value (RFC 4514)."""
    return template.replace("{username}", ldap.dn.escape_dn_chars(username))


def group_name_of(dn: str) -> str | None:
    """The ``cn`` of a group DN (the first RDN's value when that is not a cn), or None."""
    try:
        rdns = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        return None
    if not rdns:
        return None
    first = rdns[0]
    for attr, value, _ in first:
        if attr.lower() == "cn":
            return str(value)
    return str(first[0][1])


def _connect(config: LdapConfig) -> Any:
    conn = ldap.initialize(config.url)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    # Referrals would send the user's password to whatever server the referral names.
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, float(config.connect_timeout))
    conn.set_option(ldap.OPT_TIMEOUT, float(config.timeout))
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    if config.ca_file is not None:
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(config.ca_file))
    # Apply the TLS options to this connection's own TLS context (libldap keeps a global one).
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    if config.start_tls:
        conn.start_tls_s()
    return conn


def _entries(results: list[tuple[str | None, dict[str, list[bytes]]]]) -> list[tuple[str, Any]]:
    # Search continuation references come back with a None DN; they are not entries.
    return [(dn, attrs) for dn, attrs in results if dn is not None]


def _values(attrs: dict[str, list[bytes]], name: str) -> list[str]:
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return [v.decode("utf-8", "replace") for v in values]
    return []


def _groups(conn: Any, config: LdapConfig, username: str, dn: str, attrs: Any) -> frozenset[str]:
    names: set[str] = set()
    if config.group_attribute:
        for value in _values(attrs, config.group_attribute):
            name = group_name_of(value)
            if name:
                names.add(name)
    elif config.group_base:
        query = filter_for(config.group_filter, dn=dn, username=username)
        found = conn.search_s(config.group_base, ldap.SCOPE_SUBTREE, query, ["cn"])
        for _, group_attrs in _entries(found):
            names.update(_values(group_attrs, "cn")[:1])
    return frozenset(names)


def _user_attrs(config: LdapConfig) -> list[str]:
    # "1.1" asks for no attributes at all (RFC 4511 §4.5.1.8).
    return [config.group_attribute] if config.group_attribute else ["1.1"]


def _search_then_bind(config: LdapConfig, username: str, password: str) -> DirectoryEntry | None:
    service = _connect(config)
    try:
        if config.bind_dn:
            service.simple_bind_s(config.bind_dn, config.bind_password)
        query = filter_for(config.user_filter, username=username)
        found = _entries(
            service.search_s(config.user_base, ldap.SCOPE_SUBTREE, query, _user_attrs(config))
        )
        if not found:
            return None
        if len(found) > 1:
            # A filter that matches several entries cannot say whose password this is.
            log.warning("ldap: the user filter matches %d entries for one name", len(found))
            raise BindRefused("ambiguous user")
        dn, attrs = found[0]
        user = _connect(config)
        try:
            _bind_user(user, dn, password)
        finally:
            user.unbind_s()
        return DirectoryEntry(dn, _groups(service, config, username, dn, attrs))
    finally:
        service.unbind_s()


def _direct_bind(config: LdapConfig, username: str, password: str) -> DirectoryEntry:
    dn = dn_for(config.user_dn_template, username)
    conn = _connect(config)
    try:
        _bind_user(conn, dn, password)
        attrs: Any = {}
        if config.group_attribute:
            found = _entries(
                conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", _user_attrs(config))
            )
            attrs = found[0][1] if found else {}
        return DirectoryEntry(dn, _groups(conn, config, username, dn, attrs))
    finally:
        conn.unbind_s()


def _bind_user(conn: Any, dn: str, password: str) -> None:
    try:
        conn.simple_bind_s(dn, password)
    except (ldap.INVALID_CREDENTIALS, ldap.INVALID_DN_SYNTAX, ldap.UNWILLING_TO_PERFORM):
        # slapd's ppolicy answers a locked account with invalidCredentials too (draft-behera
        # ppolicy §8.1.2.1); Active Directory answers disabled accounts the same way.
        raise BindRefused("the directory refused the password") from None


def authenticate(config: LdapConfig, username: str, password: str) -> DirectoryEntry | None:
    """Bind as ``username``; None if the directory has no such user (search mode only).

    Raises ``BindRefused`` for a refused password and ``DirectoryUnavailable`` when the
    directory cannot be asked. The password must not be empty: an empty simple bind is an
    unauthenticated bind that succeeds (RFC 4513 §5.1.2), so the caller refuses it first.
    """
    if not password:
        raise BindRefused("empty password")
    try:
        if config.user_dn_template:
            return _direct_bind(config, username, password)
        return _search_then_bind(config, username, password)
    except _OUTAGES as exc:
        raise DirectoryUnavailable(f"ldap: {_describe(exc)}") from None
    except ldap.LDAPError as exc:
        # A refused service account, a missing base DN or a bad filter: the operator must act,
        # and users get 503 rather than "wrong password" meanwhile.
        raise DirectoryUnavailable(f"ldap: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    """One line from python-ldap's error dict (its desc and info; no DNs or filters echoed)."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    parts = [str(detail.get("desc", type(exc).__name__))]
    if detail.get("info"):
        parts.append(str(detail["info"]))
    return ": ".join(parts)
