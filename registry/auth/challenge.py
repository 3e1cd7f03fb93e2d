"""The refusal of a request and its `WWW-Authenticate: Bearer` challenge.

Format as Distribution 2.8 writes it (registry/auth/token/accesscontroller.go
`challengeParams`) and as RFC 6750 §3 defines the parameters:
`Bearer realm="…",service="…"[,scope="…"][,error="invalid_token"|"insufficient_scope"]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from registry.auth.access import Access, scope_param

# RFC 6750 §3.1 error codes. No error parameter when the request carried no token.
INVALID_TOKEN: Final = "invalid_token"
INSUFFICIENT_SCOPE: Final = "insufficient_scope"
ChallengeError = Literal["invalid_token", "insufficient_scope"]


def quote(value: str) -> str:
    """An RFC 7230 quoted-string, escaping backslash and double quote like Go's %q."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    # Control characters cannot appear in a header value; replace them rather than fail.
    escaped = "".join(ch if ch >= " " and ch != "\x7f" else "?" for ch in escaped)
    return f'"{escaped}"'


class AuthChallenge(Exception):
    """A refused request: 401 with a Bearer challenge naming the access it needs."""

    def __init__(
        self,
        *,
        realm: str,
        service: str,
        needed: Sequence[Access],
        error: ChallengeError | None,
        reason: str,
    ) -> None:
        super().__init__(reason)
        self.realm = realm
        self.service = service
        self.needed = tuple(needed)
        self.error: ChallengeError | None = error
        # Why it was refused, for logs only: it never goes to the client.
        self.reason = reason

    def header(self) -> str:
        """The full WWW-Authenticate value for this refusal."""
        value = f"Bearer realm={quote(self.realm)},service={quote(self.service)}"
        scope = scope_param(self.needed)
        if scope:
            value += f",scope={quote(scope)}"
        if self.error is not None:
            value += f",error={quote(self.error)}"
        return value
