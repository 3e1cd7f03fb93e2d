"""The table of authsvc's settings: YAML path, environment variable, converter, description.

Every setting is one entry: its dotted YAML path, its environment variable (which wins over the
file, as Distribution's ``REGISTRY_*`` variables do), the converter that validates it and one
line for the configuration reference (``docs/authsvc-config.md`` is generated from this table by
``python -m authsvc.config_reference``). The first part of the path is the section, a field of
``authsvc.config.Config``; the last part is the section's field, unless the entry names the
fields itself (``server.listen`` fills ``host`` and ``port`` from one ``host:port`` value).
"""

from __future__ import annotations

from typing import NamedTuple

from authsvc import config_values as values
from authsvc.config_values import Converter
from svckit.settings import parse_bool, parse_hostport


class Setting(NamedTuple):
    """One setting: its environment variable, its converter and the fields it fills.

    ``fields`` defaults to the last part of the dotted path. With several fields the converter
    returns a tuple that fills them in order.
    """

    env: str
    convert: Converter
    fields: tuple[str, ...] = ()
    # One line for the configuration reference (docs/authsvc-config.md is made from it).
    doc: str = ""


SETTINGS: dict[str, Setting] = {
    "server.listen": Setting(
        "AUTHSVC_LISTEN",
        parse_hostport,
        ("host", "port"),
        doc="`host:port` the token server listens on",
    ),
    "server.realm": Setting(
        "AUTHSVC_REALM",
        values.text,
        doc="the realm of the `WWW-Authenticate: Basic` challenge on a 401",
    ),
    "server.access_log": Setting(
        "AUTHSVC_ACCESS_LOG",
        parse_bool,
        doc="one access-log line per request (written in batches)",
    ),
    "server.header_timeout": Setting(
        "AUTHSVC_HEADER_TIMEOUT",
        values.seconds(1),
        doc="seconds a client may take to send a request's headers; also the idle keep-alive limit",
    ),
    "server.body_timeout": Setting(
        "AUTHSVC_BODY_TIMEOUT",
        values.seconds(1),
        doc="seconds a client may take to send a request body (408 after that)",
    ),
    "server.trusted_proxies": Setting(
        "AUTHSVC_TRUSTED_PROXIES",
        values.cidrs,
        doc=(
            "comma-separated CIDRs whose `X-Forwarded-For` is believed (throttling, audit); "
            "empty: the peer address"
        ),
    ),
    "server.tls_cert": Setting(
        "AUTHSVC_TLS_CERT",
        values.path,
        doc=(
            "PEM certificate chain; with `tls_key`, the server speaks HTTPS only (TLS 1.2 and "
            "1.3, reloaded on SIGHUP)"
        ),
    ),
    "server.tls_key": Setting(
        "AUTHSVC_TLS_KEY",
        values.path,
        doc="PEM private key of `tls_cert`",
    ),
    "server.workers": Setting(
        "AUTHSVC_WORKERS",
        values.integer(1),
        doc=(
            "worker processes sharing the port (gunicorn); `authsvc serve --workers N` overrides it"
        ),
    ),
    "server.metrics_listen": Setting(
        "AUTHSVC_METRICS_LISTEN",
        values.optional_hostport,
        ("metrics_host", "metrics_port"),
        doc="`host:port` of a listener serving Prometheus `GET /metrics`; off when unset",
    ),
    "server.log_format": Setting(
        "AUTHSVC_LOG_FORMAT",
        values.choice("text", "json"),
        doc="`text` or `json` (one object per line)",
    ),
    "server.log_level": Setting(
        "AUTHSVC_LOG_LEVEL",
        values.choice("debug", "info", "warning", "error"),
        doc="`debug`, `info`, `warning` or `error`",
    ),
    "database.url": Setting(
        "AUTHSVC_DATABASE_URL",
        values.database_url,
        doc=(
            "SQLAlchemy URL; `sqlite:///…` and `postgresql://…` are mapped to aiosqlite and asyncpg"
        ),
    ),
    "database.pool_size": Setting(
        "AUTHSVC_DATABASE_POOL_SIZE",
        values.integer(1),
        doc="database connections per process",
    ),
    "database.echo": Setting(
        "AUTHSVC_DATABASE_ECHO",
        parse_bool,
        doc="log every SQL statement (debugging only)",
    ),
    "token.issuer": Setting(
        "AUTHSVC_ISSUER",
        values.text,
        doc="the `iss` claim; registries must expect the same issuer",
    ),
    "token.service": Setting(
        "AUTHSVC_SERVICE",
        values.services,
        ("services",),
        doc="comma-separated services (the `aud` claim) this server issues for; others get 400",
    ),
    "token.ttl": Setting(
        "AUTHSVC_TOKEN_TTL",
        values.seconds(60),
        doc="access-token lifetime in seconds (at least 60)",
    ),
    "token.refresh_ttl": Setting(
        "AUTHSVC_REFRESH_TOKEN_TTL",
        values.seconds(60),
        doc="refresh-token (docker identity token) lifetime in seconds",
    ),
    "token.signing_key": Setting(
        "AUTHSVC_SIGNING_KEY",
        values.path,
        doc="PEM private key that signs tokens (P-256 for ES256, RSA for RS256)",
    ),
    "token.signing_cert": Setting(
        "AUTHSVC_SIGNING_CERT",
        values.path,
        doc="PEM certificate of the signing key (its chain goes in `x5c`)",
    ),
    "token.published_certs": Setting(
        "AUTHSVC_PUBLISHED_CERTS",
        values.path,
        doc=(
            "PEM file of certificates published beside the active one (the next key, previous "
            "keys): in the JWKS and `keys bundle`"
        ),
    ),
    "token.header": Setting(
        "AUTHSVC_TOKEN_HEADER",
        values.choice("x5c", "kid"),
        doc=(
            "`x5c` (certificate chain and kid) or `kid` (kid only, for Distribution 3 with a "
            "JWKS file)"
        ),
    ),
    "token.kid_format": Setting(
        "AUTHSVC_TOKEN_KID_FORMAT",
        values.choice("libtrust", "thumbprint"),
        doc="`libtrust` (what Distribution 2.8 looks up) or `thumbprint` (RFC 7638)",
    ),
    "passwords.argon2_memory_cost": Setting(
        "AUTHSVC_ARGON2_MEMORY_COST",
        values.integer(8),
        doc="argon2id memory in KiB for new hashes",
    ),
    "passwords.argon2_time_cost": Setting(
        "AUTHSVC_ARGON2_TIME_COST",
        values.integer(1),
        doc="argon2id passes for new hashes",
    ),
    "passwords.argon2_parallelism": Setting(
        "AUTHSVC_ARGON2_PARALLELISM",
        values.integer(1),
        doc="argon2id lanes for new hashes",
    ),
    "passwords.credential_cache_ttl": Setting(
        "AUTHSVC_CREDENTIAL_CACHE_TTL",
        values.seconds(0),
        doc="seconds a verified password is remembered (0: off)",
    ),
    "passwords.verify_threads": Setting(
        "AUTHSVC_VERIFY_THREADS",
        values.integer(1),
        doc="threads that run password verification",
    ),
    "passwords.verify_queue": Setting(
        "AUTHSVC_VERIFY_QUEUE",
        values.integer(1),
        doc="verifications running or waiting at most; beyond it logins get 429 at once",
    ),
    "auth.authenticators": Setting(
        "AUTHSVC_AUTHENTICATORS",
        values.authenticators,
        doc="identity backends asked in order: `local`, `ldap`",
    ),
    "auth.pat_hash_key": Setting(
        "AUTHSVC_PAT_HASH_KEY",
        values.optional_text,
        doc=("key of the HMAC over stored personal access tokens; the same on every replica"),
    ),
    "ldap.url": Setting(
        "AUTHSVC_LDAP_URL",
        values.ldap_url,
        doc="`ldap://` or `ldaps://` URL of the directory",
    ),
    "ldap.start_tls": Setting(
        "AUTHSVC_LDAP_START_TLS",
        parse_bool,
        doc="upgrade an `ldap://` connection with StartTLS",
    ),
    "ldap.ca_file": Setting(
        "AUTHSVC_LDAP_CA_FILE",
        values.path,
        doc="CA bundle the directory's certificate must chain to",
    ),
    "ldap.bind_dn": Setting(
        "AUTHSVC_LDAP_BIND_DN",
        values.optional_text,
        doc="service account that searches for users",
    ),
    "ldap.bind_password": Setting(
        "AUTHSVC_LDAP_BIND_PASSWORD",
        values.optional_text,
        doc="password of `bind_dn`",
    ),
    "ldap.user_base": Setting(
        "AUTHSVC_LDAP_USER_BASE",
        values.optional_text,
        doc="search base for users (search, then bind as the entry found)",
    ),
    "ldap.user_filter": Setting(
        "AUTHSVC_LDAP_USER_FILTER",
        values.placeholder("username"),
        doc="user search filter; `{username}` is replaced, escaped",
    ),
    "ldap.user_dn_template": Setting(
        "AUTHSVC_LDAP_USER_DN_TEMPLATE",
        values.optional_text,
        doc="direct bind instead of a search, e.g. `uid={username},ou=people,dc=example,dc=org`",
    ),
    "ldap.group_base": Setting(
        "AUTHSVC_LDAP_GROUP_BASE",
        values.optional_text,
        doc="search base for groups (with `group_filter`)",
    ),
    "ldap.group_filter": Setting(
        "AUTHSVC_LDAP_GROUP_FILTER",
        values.text,
        doc="group search filter; `{dn}` and `{username}` are replaced",
    ),
    "ldap.group_attribute": Setting(
        "AUTHSVC_LDAP_GROUP_ATTRIBUTE",
        values.optional_text,
        doc="read groups from this attribute of the user's entry (e.g. `memberOf`) instead",
    ),
    "ldap.group_map": Setting(
        "AUTHSVC_LDAP_GROUP_MAP",
        values.group_map,
        doc="`cn=group,…` pairs mapping directory group names to authsvc group names",
    ),
    "ldap.connect_timeout": Setting(
        "AUTHSVC_LDAP_CONNECT_TIMEOUT",
        values.seconds(1),
        doc="seconds to connect to the directory",
    ),
    "ldap.timeout": Setting(
        "AUTHSVC_LDAP_TIMEOUT",
        values.seconds(1),
        doc="seconds for one directory operation",
    ),
    "oidc.issuer": Setting(
        "AUTHSVC_OIDC_ISSUER",
        values.https_url,
        doc=(
            "the OpenID provider's issuer URL (https); sign-in with OpenID Connect is off "
            "without it"
        ),
    ),
    "oidc.client_id": Setting(
        "AUTHSVC_OIDC_CLIENT_ID",
        values.text,
        doc="client id registered at the provider",
    ),
    "oidc.client_secret": Setting(
        "AUTHSVC_OIDC_CLIENT_SECRET",
        values.optional_text,
        doc="client secret (empty for a public client with PKCE)",
    ),
    "oidc.scopes": Setting(
        "AUTHSVC_OIDC_SCOPES",
        values.scopes,
        doc="scopes asked for; must include `openid`",
    ),
    "oidc.username_claim": Setting(
        "AUTHSVC_OIDC_USERNAME_CLAIM",
        values.text,
        doc="ID-token claim that becomes the user name",
    ),
    "oidc.groups_claim": Setting(
        "AUTHSVC_OIDC_GROUPS_CLAIM",
        values.optional_text,
        doc="ID-token claim listing the user's groups",
    ),
    "oidc.redirect_url": Setting(
        "AUTHSVC_OIDC_REDIRECT_URL",
        values.http_url,
        doc="callback URL registered at the provider (`https://…/login/callback`)",
    ),
    "oidc.ca_file": Setting(
        "AUTHSVC_OIDC_CA_FILE",
        values.path,
        doc="CA bundle the provider's certificate must chain to (default: the system's)",
    ),
    "oidc.timeout": Setting(
        "AUTHSVC_OIDC_TIMEOUT",
        values.seconds(1),
        doc="seconds for one request to the provider",
    ),
    "trust.ca_file": Setting(
        "AUTHSVC_TRUST_CA_FILE",
        values.path,
        doc="CA bundle that trusted OpenID issuers must chain to (default: the system's)",
    ),
    "trust.timeout": Setting(
        "AUTHSVC_TRUST_TIMEOUT",
        values.seconds(1),
        doc="seconds for one request to an OpenID issuer of `authsvc trust`",
    ),
    "web.session_ttl": Setting(
        "AUTHSVC_WEB_SESSION_TTL",
        values.seconds(60),
        doc="seconds an account-page session lasts",
    ),
    "web.registry": Setting(
        "AUTHSVC_WEB_REGISTRY",
        values.optional_text,
        doc="registry host shown in the account page's `docker login` line",
    ),
    "throttle.free_attempts": Setting(
        "AUTHSVC_THROTTLE_FREE_ATTEMPTS",
        values.integer(0),
        doc="failed logins per account and address before delays start (0: throttling off)",
    ),
    "throttle.address_free_attempts": Setting(
        "AUTHSVC_THROTTLE_ADDRESS_FREE_ATTEMPTS",
        values.integer(0),
        doc="failed logins per address, whatever the user name, before delays start",
    ),
    "throttle.base_delay": Setting(
        "AUTHSVC_THROTTLE_BASE_DELAY",
        values.seconds(0),
        doc="seconds of the first delay, doubled per further failure",
    ),
    "throttle.max_delay": Setting(
        "AUTHSVC_THROTTLE_MAX_DELAY",
        values.seconds(0),
        doc="longest delay in seconds",
    ),
    "audit.enabled": Setting(
        "AUTHSVC_AUDIT",
        parse_bool,
        doc=(
            "write the audit trail (tokens issued and refused, failed logins, throttling, CLI "
            "changes)"
        ),
    ),
    "audit.retention": Setting(
        "AUTHSVC_AUDIT_RETENTION",
        values.seconds(3600),
        doc="seconds audit rows are kept",
    ),
}
