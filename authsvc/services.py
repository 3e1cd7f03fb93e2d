"""Wiring the service objects from settings: the one place that decides what decorates what.

The app (``app.py``) and the CLI (``authsvc acl check``) build their authenticators and their
access decider here, so both run the same objects; only the caches differ, because a CLI
process answers one question and exits.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import pats, store
from authsvc.acl_service import AclService
from authsvc.authn import Authenticator, AuthenticatorChain
from authsvc.authn.directory import CachedUserDirectory, SqlUserDirectory, UserDirectory
from authsvc.authn.federation import (
    CachedIdTokenVerifier,
    FederationAuthenticator,
    IdTokenVerifier,
    TokenVerifier,
)
from authsvc.authn.local import LocalAuthenticator
from authsvc.authn.password_check import (
    CachedPasswordCheck,
    PasswordCheck,
    ThreadedPasswordCheck,
)
from authsvc.authn.pat import PatAuthenticator
from authsvc.authn.refresh import RefreshTokenAuthenticator
from authsvc.authn.throttle import LoginThrottle, SqlThrottleState
from authsvc.authz import AccessDecider, AclAuthorizer, CachedRuleSource, SqlRuleSource
from authsvc.authz.rules import RuleSource
from authsvc.config import Config
from authsvc.group_service import GroupService
from authsvc.passwords import PasswordHasher, VerifyResult
from authsvc.pat_service import PatService
from authsvc.refresh_tokens import RefreshTokenService
from authsvc.robot_service import RobotService
from authsvc.trust_service import TrustService
from authsvc.user_service import UserService

if TYPE_CHECKING:
    from authsvc.authn.ldap import LdapAuthenticator


@dataclass(frozen=True, slots=True)
class Services:
    """What the token endpoint calls."""

    # The chain behind the login throttle: what every credential check goes through.
    authenticators: LoginThrottle
    local: LocalAuthenticator
    refresh_tokens: RefreshTokenService
    access: AccessDecider
    # Held so that tests and tools can drop the cached rules at once.
    rule_cache: CachedRuleSource
    pats: PatService
    trusts: TrustService
    # What the admin API changes (the CLI builds its own, without caches).
    admin: AdminServices


@dataclass(frozen=True, slots=True)
class AdminServices:
    """The administration services that the CLI and the admin API both call."""

    users: UserService
    groups: GroupService
    acl: AclService
    pats: PatService
    robots: RobotService


def build_admin_services(
    config: Config,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    executor: Executor | None = None,
    pats: PatService | None = None,
    local: LocalAuthenticator | None = None,
    rule_cache: CachedRuleSource | None = None,
) -> AdminServices:
    """The admin services; a server passes its hashing threads, token service and caches."""
    pats = pats or build_pat_service(config, sessionmaker)
    local = local or build_local_authenticator(config, sessionmaker, None, cached=False)
    decider = build_access_decider(config, rule_cache or SqlRuleSource(sessionmaker))
    return AdminServices(
        users=UserService(sessionmaker, PasswordHasher(config.passwords), executor),
        groups=GroupService(sessionmaker),
        acl=AclService(sessionmaker, decider, local, rule_cache),
        pats=pats,
        robots=RobotService(sessionmaker, pats),
    )


def build_access_decider(config: Config, rules: RuleSource) -> AccessDecider:
    """The ACL authorizer over ``rules``, for the configured services."""
    return AccessDecider(AclAuthorizer(rules), config.token.services)


def build_local_authenticator(
    config: Config,
    sessionmaker: async_sessionmaker[AsyncSession],
    executor: Executor | None,
    *,
    cached: bool,
) -> LocalAuthenticator:
    """The SQL user backend; without an executor it can look users up but not verify passwords."""
    directory: UserDirectory = SqlUserDirectory(sessionmaker)
    if cached:
        directory = CachedUserDirectory(directory)
    passwords: PasswordCheck = _NoPasswords()
    if executor is not None:
        passwords = ThreadedPasswordCheck(
            PasswordHasher(config.passwords),
            executor,
            max_pending=config.passwords.verify_queue if cached else None,
        )
        if cached:
            passwords = CachedPasswordCheck(passwords, ttl=config.passwords.credential_cache_ttl)
    return LocalAuthenticator(directory, passwords, sessionmaker)


def build_pat_service(config: Config, sessionmaker: async_sessionmaker[AsyncSession]) -> PatService:
    """Personal access tokens, their stored hashes keyed by ``auth.pat_hash_key`` when set."""
    key = config.auth.pat_hash_key.encode("utf-8") or pats.DEFAULT_KEY
    return PatService(sessionmaker, hash_key=key)


def build_federation_authenticator(
    config: Config, trusts: TrustService, *, cached: bool = True
) -> FederationAuthenticator:
    """ID tokens through trusts, issuers reached with ``trust.ca_file`` and ``trust.timeout``.

    ``cached``: verified tokens are remembered (authsvc.authn.federation.VERIFIED_TTL).
    """
    verifier: TokenVerifier = IdTokenVerifier(
        ca_file=config.trust.ca_file, timeout=config.trust.timeout
    )
    if cached:
        verifier = CachedIdTokenVerifier(verifier)
    return FederationAuthenticator(trusts, verifier)


def build_ldap_authenticator(
    config: Config, sessionmaker: async_sessionmaker[AsyncSession], executor: Executor
) -> LdapAuthenticator:
    """The LDAP backend, its binds cached like local password checks."""
    # Imported here: python-ldap is the optional `ldap` extra, needed only when LDAP is used.
    from authsvc.authn.ldap import (
        CachedDirectoryBind,
        LdapAuthenticator,
        ThreadedDirectoryBind,
    )

    binder = CachedDirectoryBind(
        ThreadedDirectoryBind(config.ldap, executor), ttl=config.passwords.credential_cache_ttl
    )
    directory = CachedUserDirectory(SqlUserDirectory(sessionmaker))
    return LdapAuthenticator(config.ldap, binder, directory, sessionmaker)


def build_services(
    config: Config,
    sessionmaker: async_sessionmaker[AsyncSession],
    executor: Executor,
    *,
    ldap_executor: Executor | None = None,
) -> Services:
    """Everything the server needs, with its caches.

    ``ldap_executor`` runs directory binds, so that a slow directory cannot hold the password
    threads that local users need (``executor`` by default).
    """
    local = build_local_authenticator(config, sessionmaker, executor, cached=True)
    refresh_tokens = RefreshTokenService(sessionmaker, ttl=config.token.refresh_ttl)
    backends: dict[str, Authenticator] = {"local": local}
    if "ldap" in config.auth.authenticators:
        backends["ldap"] = build_ldap_authenticator(config, sessionmaker, ldap_executor or executor)
    # Refresh tokens first: they carry no user name, so no identity backend could claim them.
    # Then the identity backends in the configured order (auth.authenticators); the first one
    # that recognises the user decides, as in docker_auth.
    pat_service = build_pat_service(config, sessionmaker)
    # Personal access tokens next: a PAT-shaped password is theirs whatever the user name, so
    # it never costs an argon2 verification or a directory bind. Then ID tokens: the user name
    # `oidc` (and the token exchange grant) belong to workload identity federation.
    trusts = TrustService(sessionmaker)
    chain = AuthenticatorChain(
        [
            RefreshTokenAuthenticator(refresh_tokens, local),
            PatAuthenticator(pat_service, CachedUserDirectory(SqlUserDirectory(sessionmaker))),
            build_federation_authenticator(config, trusts),
            *(backends[name] for name in config.auth.authenticators),
        ]
    )
    # The rule list is cached for a second in a server (authsvc.authz.rules.RULES_TTL).
    rule_cache = CachedRuleSource(SqlRuleSource(sessionmaker))
    access = build_access_decider(config, rule_cache)
    throttle = LoginThrottle(chain, SqlThrottleState(sessionmaker), config.throttle)
    admin = build_admin_services(
        config, sessionmaker, executor=executor, pats=pat_service, local=local,
        rule_cache=rule_cache,
    )  # fmt: skip
    return Services(throttle, local, refresh_tokens, access, rule_cache, pat_service, trusts, admin)


class _NoPasswords:
    """A password check for tools that only look users up; verifying is a programming error."""

    async def check(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> VerifyResult:
        """Refuse: this wiring has no thread pool for argon2id."""
        raise RuntimeError("this LocalAuthenticator was built without a password executor")
