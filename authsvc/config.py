"""authsvc settings: a frozen dataclass tree from YAML plus ``AUTHSVC_*`` env overrides.

Every setting is one entry of the table in ``authsvc.config_settings``; adding a setting is one
entry there and one dataclass field here, and tests/authsvc/test_config.py checks that the two
agree.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Re-exported: callers import them from authsvc.config.
from authsvc.config_settings import SETTINGS as _SETTINGS
from authsvc.config_settings import Setting as Setting
from authsvc.config_values import ConfigError as ConfigError
from authsvc.config_values import normalize_database_url as normalize_database_url
from svckit.settings import SettingError


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the HTTP server listens and the Basic realm it announces."""

    host: str = "127.0.0.1"
    port: int = 5001
    realm: str = "authsvc"
    access_log: bool = True
    # Slow clients: seconds to send a request's headers, and its body (svckit.httpserver).
    header_timeout: int = 30
    body_timeout: int = 30
    # Proxies whose X-Forwarded-For is believed (authsvc.netaddr); empty: the peer address.
    trusted_proxies: tuple[str, ...] = ()
    # HTTPS only when both are set (svckit.tls: TLS 1.2 and 1.3, reloaded on SIGHUP).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Worker processes sharing the listening port (svckit.workers); 1 serves in this process.
    workers: int = 1
    # Prometheus metrics on their own listener (authsvc.metrics); off when unset.
    metrics_host: str | None = None
    metrics_port: int | None = None
    # Log lines as text or as one JSON object each (svckit.logs), and the least level written.
    log_format: str = "text"
    log_level: str = "info"


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """The SQL store. The URL may embed a password, so it never appears in a repr."""

    url: str = field(default="sqlite+aiosqlite:///data/authsvc.db", repr=False)
    pool_size: int = 10
    echo: bool = False

    @property
    def redacted_url(self) -> str:
        """The URL with any password replaced by ``***``, fit for logs."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            # Where a password would be in text that does not parse is anyone's guess.
            return "(not a valid URL)"


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """What the token endpoint issues: issuer, audiences, lifetimes and the signing key."""

    issuer: str = "authsvc"
    services: tuple[str, ...] = ("registry",)
    ttl: int = 300
    refresh_ttl: int = 90 * 24 * 3600
    signing_key: Path = Path("certs/token.key")
    signing_cert: Path = Path("certs/token.crt")
    # Certificates of keys published beside the active one (the next key, previous keys):
    # they appear in the JWKS and in `authsvc keys bundle`, so registries trust them.
    published_certs: Path | None = None
    # The JOSE header: "x5c" (certificate chain and kid) or "kid" (kid only, for
    # Distribution 3 configured with a JWKS file); the kid's form: libtrust or thumbprint.
    header: str = "x5c"
    kid_format: str = "libtrust"


@dataclass(frozen=True, slots=True)
class PasswordConfig:
    """argon2id cost parameters and the verified-credential cache lifetime.

    The defaults follow OWASP's Password Storage Cheat Sheet minimum for argon2id
    (m=19 MiB, t=2, p=1) rather than passlib's much heavier defaults (64 MiB, t=3, p=4),
    which cost ~150 ms of CPU per login on this class of machine.
    """

    argon2_memory_cost: int = 19456  # KiB
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    credential_cache_ttl: int = 60  # seconds; 0 disables the cache
    verify_threads: int = 2
    # Verifications running or waiting at most; beyond it a login is shed with 429 at once.
    verify_queue: int = 16


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Who may log in: the identity backends (``local`` is the user table), asked in order."""

    authenticators: tuple[str, ...] = ("local",)
    # Keys the stored hashes of personal access tokens (authsvc.pats); the same on every replica.
    pat_hash_key: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class LdapConfig:
    """The LDAP identity backend (used when ``auth.authenticators`` lists ``ldap``).

    Either ``user_dn_template`` (direct bind) or ``user_base`` (search with the service account,
    then bind as the entry found) locates the user. Groups come from ``group_attribute`` on the
    user's entry (``memberOf``) or, with ``group_base``, from a search with ``group_filter``.
    """

    url: str = ""
    start_tls: bool = False
    ca_file: Path | None = None
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    user_base: str = ""
    user_filter: str = "(uid={username})"
    user_dn_template: str = ""
    group_base: str = ""
    group_filter: str = "(member={dn})"
    group_attribute: str = ""
    # Directory group name (the cn) -> authsvc group name; unmapped groups keep their cn.
    group_map: tuple[tuple[str, str], ...] = ()
    connect_timeout: int = 5
    timeout: int = 10


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """OpenID Connect sign-in for people (authorization code flow with PKCE); off without issuer.

    ``redirect_url`` is the callback URL registered at the provider, matched exactly by both
    sides (``https://auth.example.com/login/callback``); ``ca_file`` is the CA bundle that the
    provider's certificate must chain to (the system's trust store when unset).
    """

    issuer: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email", "groups")
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    redirect_url: str = ""
    ca_file: Path | None = None
    timeout: int = 10


@dataclass(frozen=True, slots=True)
class TrustConfig:
    """Workload identity federation (``authsvc trust``): how issuers are reached.

    ``ca_file`` is the CA bundle that issuers' certificates must chain to (the system's trust
    store when unset); it is read from this setting only, never from ``SSL_CERT_FILE``.
    """

    ca_file: Path | None = None
    timeout: int = 10


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The account page: session lifetime and the registry named in its ``docker login`` line."""

    session_ttl: int = 900
    registry: str = ""


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Login throttling (``authsvc.authn.throttle``); any of the numbers 0 turns it off.

    ``free_attempts`` failures per account and address pass, then each further one blocks
    the pair for ``base_delay`` doubled per failure, at most ``max_delay`` seconds. Per address
    (whatever the user names) ``address_free_attempts`` failures pass.
    """

    free_attempts: int = 5
    address_free_attempts: int = 20
    base_delay: int = 1
    max_delay: int = 15 * 60

    @property
    def enabled(self) -> bool:
        """Whether failed logins are counted and blocked at all."""
        return self.free_attempts > 0 and self.base_delay > 0 and self.max_delay > 0


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """The audit trail (``authsvc.audit``): on or off, and how long rows are kept."""

    enabled: bool = True
    retention: int = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Config:
    """The whole authsvc configuration."""

    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    token: TokenConfig = field(default_factory=TokenConfig)
    passwords: PasswordConfig = field(default_factory=PasswordConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    ldap: LdapConfig = field(default_factory=LdapConfig)
    oidc: OidcConfig = field(default_factory=OidcConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    web: WebConfig = field(default_factory=WebConfig)
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)


def _check_oidc(config: Config) -> None:
    oidc = config.oidc
    if not oidc.issuer:
        return
    if not oidc.client_id:
        raise ConfigError("oidc.client_id: required when oidc.issuer is set")
    if not oidc.redirect_url:
        raise ConfigError("oidc.redirect_url: required when oidc.issuer is set")


def _check_ldap(config: Config) -> None:
    """Cross-setting checks that no single converter can make."""
    if "ldap" not in config.auth.authenticators:
        return
    ldap = config.ldap
    if not ldap.url:
        raise ConfigError("ldap.url: required when auth.authenticators lists ldap")
    if not ldap.user_dn_template and not ldap.user_base:
        raise ConfigError("ldap.user_base or ldap.user_dn_template: one of them is required")
    if ldap.user_dn_template and "{username}" not in ldap.user_dn_template:
        raise ConfigError("ldap.user_dn_template: must contain {username}")
    if ldap.start_tls and ldap.url.lower().startswith("ldaps://"):
        raise ConfigError("ldap.start_tls: ldaps:// is TLS already; use one or the other")
    if ldap.group_base and ldap.group_attribute:
        raise ConfigError("ldap.group_base and ldap.group_attribute: choose one way to find groups")


def setting_fields(dotted: str) -> tuple[str, tuple[str, ...]]:
    """The section and the dataclass fields that the setting at ``dotted`` fills."""
    section, _, key = dotted.partition(".")
    return section, _SETTINGS[dotted].fields or (key.rpartition(".")[2],)


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in doc.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: invalid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping")
    flat = _flatten(doc)
    unknown = sorted(k for k in flat if k not in _SETTINGS)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return flat


def _convert(setting: Setting, value: object, name: str) -> object:
    try:
        return setting.convert(value, name)
    except SettingError as exc:
        # svckit's parsers already start the message with the name; only the type changes.
        raise ConfigError(str(exc)) from None


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load settings from the YAML file (``path`` or ``AUTHSVC_CONFIG``) and the environment."""
    env = os.environ if environ is None else environ
    if path is None and env.get("AUTHSVC_CONFIG"):
        path = env["AUTHSVC_CONFIG"]
    raw: dict[str, object] = _read_yaml(Path(path)) if path is not None else {}
    sections: dict[str, dict[str, object]] = {}
    for dotted, setting in _SETTINGS.items():
        if setting.env in env:
            value = _convert(setting, env[setting.env], setting.env)
        elif dotted in raw:
            value = _convert(setting, raw[dotted], dotted)
        else:
            continue
        section, fields = setting_fields(dotted)
        values = value if len(fields) > 1 else (value,)
        assert isinstance(values, tuple) and len(values) == len(fields), dotted
        sections.setdefault(section, {}).update(zip(fields, values, strict=True))
    defaults = Config()
    config = dataclasses.replace(
        defaults,
        **{
            name: dataclasses.replace(getattr(defaults, name), **values)
            for name, values in sections.items()
        },
    )
    _check_ldap(config)
    if (config.server.tls_cert is None) != (config.server.tls_key is None):
        raise ConfigError("server.tls_cert and server.tls_key: set both for HTTPS, or neither")
    _check_oidc(config)
    return config
