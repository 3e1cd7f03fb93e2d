"""What the token endpoint tells the audit trail: one row per token issued or refused.

The rows are built here from what the handler decided and queued on the app's ``AuditWriter``;
nothing is written on the request path. A row never holds a secret: the token is recorded by
its ``jti``, and neither the Authorization header nor any password or refresh token is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from authsvc import metrics
from authsvc.access_tokens import IssuedToken
from authsvc.appkeys import AUDIT, CONFIG, TRUSTED_PROXIES
from authsvc.audit import ADMIN
from authsvc.authn.throttle import throttle_name
from authsvc.authn.types import Federation
from authsvc.authz.decider import AccessDecision
from authsvc.errors import AuthError, ErrorCode
from authsvc.models import utcnow
from authsvc.netaddr import client_address
from authsvc.scope import Scope, format_scope
from authsvc.store import AuditRecord
from svckit import prom

TOKEN_ISSUED = "token_issued"
TOKEN_REFUSED = "token_refused"
LOGIN_FAILED = "login_failed"
THROTTLED = "throttled"
EVENTS = (TOKEN_ISSUED, TOKEN_REFUSED, LOGIN_FAILED, THROTTLED, ADMIN)


def request_address(request: web.Request) -> str:
    """The client address: the peer, or X-Forwarded-For from a trusted proxy."""
    return client_address(
        request.remote, request.headers.getall("X-Forwarded-For", []), request.app[TRUSTED_PROXIES]
    )


@dataclass(slots=True)
class TokenAudit:
    """What one token request has told so far; the handler fills it in as it goes."""

    address: str
    user_agent: str
    subject: str = ""
    service: str = ""
    client_id: str = ""
    requested: str = ""
    # basic, anonymous, password, refresh_token or token_exchange: the metrics' grant label.
    grant: str = "anonymous"
    # Set when an ID token got in through a trust: the row names the trust and the token's sub.
    federation: Federation | None = None

    @classmethod
    def of(cls, request: web.Request) -> TokenAudit:
        """Start a row for ``request``."""
        return cls(request_address(request), request.headers.get("User-Agent", ""))

    def attempt(self, username: str, service: str, scopes: Sequence[Scope]) -> None:
        """Note who asked (the user name as throttling counts it), for what."""
        self.subject = throttle_name(username) if username else self.subject
        self.service = service
        self.requested = " ".join(format_scope(s) for s in scopes)

    def issued(self, request: web.Request, decision: AccessDecision, token: IssuedToken) -> None:
        """Queue the row of an issued token."""
        prom.child(metrics.TOKENS_ISSUED, self.grant, self.service).inc()
        rules = " ".join(
            f"{format_scope(g.scope)}=rule:{g.rule.id}" for g in decision.grants if g.rule
        )
        detail = ""
        if self.federation is not None:
            # The trust decided every scope; the ID token's iss and sub say which job it was.
            rules = f"trust:{self.federation.trust}"
            detail = f"iss={self.federation.issuer} sub={self.federation.subject}"[:1024]
        request.app[AUDIT].record(
            AuditRecord(
                at=utcnow(),
                event=TOKEN_ISSUED,
                jti=token.jti,
                granted=token.scope,
                rule=rules,
                detail=detail,
                **self._common(),
            )
        )

    def refused(self, request: web.Request, error: AuthError) -> None:
        """Queue the row of a refusal: a failed login, a throttle decision, or another error."""
        # A refused request's service may be one this server does not issue for: only
        # configured names become label values.
        service = self.service if self.service in request.app[CONFIG].token.services else ""
        prom.child(metrics.TOKENS_REFUSED, self.grant, service, error.code.name).inc()
        if error.code is ErrorCode.UNAUTHORIZED:
            event = LOGIN_FAILED
            prom.child(metrics.LOGIN_FAILURES, self.grant).inc()
        elif error.code is ErrorCode.TOOMANYREQUESTS:
            event = THROTTLED
            metrics.THROTTLED.inc()
        else:
            event = TOKEN_REFUSED
        request.app[AUDIT].record(
            AuditRecord(
                at=utcnow(),
                event=event,
                detail=f"{error.code.name}: {error.message}",
                **self._common(),
            )
        )

    def _common(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "address": self.address,
            "service": self.service,
            "client_id": self.client_id,
            "user_agent": self.user_agent,
            "requested": self.requested,
        }
