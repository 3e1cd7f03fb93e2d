"""The token battery: good and bad bearer tokens, each with the decision Distribution 2.8 reaches.

The same cases run in process against TokenVerifier (tests/registry/test_auth_verifier.py) and
against Debian's docker-registry and our `registry serve` side by side
(tests/interop/test_token_battery.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.registry.auth_tokens import (
    REPO,
    SERVICE,
    Pki,
    PrivateKey,
    Signer,
    b64url,
    bearer,
    claims,
    make_token,
    sign,
)


@dataclass(frozen=True)
class Case:
    """A battery entry: the Authorization value and the expected decision per endpoint.

    `base` is `GET /v2/` (any valid token), `repo` is `GET /v2/REPO/tags/list` (needs pull).
    """

    name: str
    authorization: str
    base: bool
    repo: bool
    # False when no Bearer token is presented: the challenge then carries no error.
    presented: bool = True

    def expected_error(self, repo: bool) -> str:
        """The challenge error of a refusal on /v2/ (repo=False) or tags/list (repo=True)."""
        accepted = self.repo if repo else self.base
        if accepted or not self.presented:
            return ""
        return "insufficient_scope" if self.base else "invalid_token"


def _hdr(
    alg: str, signer: Signer | None = None, *, kid: bool = True, x5c: bool = True
) -> dict[str, Any]:
    header: dict[str, Any] = {"typ": "JWT", "alg": alg}
    if signer is not None and kid:
        header["kid"] = signer.kid
    if signer is not None and x5c:
        header["x5c"] = signer.x5c
    return header


def _padded_token(header: Mapping[str, Any], body: Mapping[str, Any], key: PrivateKey) -> str:
    """A token whose header and claims segments keep their '=' padding (Go accepts it)."""
    segments = []
    for part in (header, body):
        text = json.dumps(part).encode()
        while len(text) % 3 == 0:  # make sure there is padding to keep
            text += b" "
        segments.append(base64.urlsafe_b64encode(text).decode())
    signing_input = ".".join(segments).encode()
    return f"{signing_input.decode()}.{b64url(sign(key, str(header['alg']), signing_input))}"


def tok(
    header: Mapping[str, Any], body: Mapping[str, Any] | str, key: PrivateKey | None, **kw: Any
) -> str:
    """The Authorization value of a hand-built token (see auth_tokens.make_token)."""
    return bearer(make_token(header, body, key, **kw))


def battery(pki: Pki, now: int) -> list[Case]:
    """The good and bad tokens, each with the decision Distribution 2.8 reaches."""
    good = claims(now)
    es, rs = pki.es256, pki.rs256
    ok = make_token(_hdr("ES256", es), good, es.key)
    tampered = ok.split(".")
    tampered[1] = b64url(json.dumps(claims(now, sub="mallory")).encode())
    star = claims(now, access=[{"type": "repository", "name": REPO, "actions": ["*"]}])
    plugin = claims(
        now,
        access=[{"type": "repository", "class": "plugin", "name": REPO, "actions": ["pull"]}],
    )
    float_exp = json.dumps(claims(now)).replace(f'"exp": {now + 300}', f'"exp": {now + 300}.0')
    sci_exp = json.dumps(claims(now)).replace(f'"exp": {now + 300}', '"exp": 9.9e9')
    issued_chain = [*pki.issued.x5c, *pki.ca.x5c]
    padded = _padded_token(_hdr("ES256", es, x5c=False), good, es.key)

    def es_tok(body: Mapping[str, Any] | str, **kw: Any) -> str:
        return tok(_hdr("ES256", es), body, es.key, **kw)

    cases = [
        # Accepted: both key types, every lookup, rotation, leeway, wildcard.
        Case("es256 kid+x5c", bearer(ok), True, True),
        Case("rs256 kid+x5c", tok(_hdr("RS256", rs), good, rs.key), True, True),
        Case("es256 kid only", tok(_hdr("ES256", es, x5c=False), good, es.key), True, True),
        Case("rs256 kid only", tok(_hdr("RS256", rs, x5c=False), good, rs.key), True, True),
        Case("es256 x5c only", tok(_hdr("ES256", es, kid=False), good, es.key), True, True),
        Case("es384 kid", tok(_hdr("ES384", pki.es384), good, pki.es384.key), True, True),
        Case("es512 kid", tok(_hdr("ES512", pki.es512), good, pki.es512.key), True, True),
        Case("rs512 kid", tok(_hdr("RS512", rs), good, rs.key), True, True),
        Case(
            "x5c leaf issued by bundle CA",
            tok({"alg": "ES256", "x5c": issued_chain}, good, pki.issued.key),
            True,
            True,
        ),
        Case(
            "x5c leaf alone, CA in bundle",
            tok({"alg": "ES256", "x5c": pki.issued.x5c}, good, pki.issued.key),
            True,
            True,
        ),
        Case(
            "jwk equal to bundle key",
            tok({"alg": "ES256", "jwk": es.jwk()}, good, es.key),
            True,
            True,
        ),
        Case(
            "jwk rsa equal to bundle key",
            tok({"alg": "RS256", "jwk": rs.jwk()}, good, rs.key),
            True,
            True,
        ),
        Case(
            "jwk with x5c to bundle CA",
            tok(
                {"alg": "ES256", "jwk": {**pki.issued.jwk(), "x5c": issued_chain}},
                good,
                pki.issued.key,
            ),
            True,
            True,
        ),
        Case(
            "expired cert, kid only",
            tok(_hdr("ES256", pki.expired, x5c=False), good, pki.expired.key),
            True,
            True,
        ),
        Case("exp within leeway", es_tok(claims(now, exp=now - 20)), True, True),
        Case("nbf within leeway", es_tok(claims(now, nbf=now + 20)), True, True),
        Case("no nbf", es_tok(claims(now, nbf=None)), True, True),
        Case("wildcard action", es_tok(star), True, True),
        Case("resource class ignored", es_tok(plugin), True, True),
        Case("lowercase bearer scheme", f"bearer {ok}", True, True),
        Case("upper-case BEARER scheme", f"BEARER {ok}", True, True),
        Case("padded base64url segments", bearer(padded), True, True),
        Case("no iat", es_tok(claims(now, iat=None)), True, True),
        Case("null sub", es_tok({**good, "sub": None}), True, True),
        # Valid tokens that do not grant pull on REPO: accepted on /v2/ only.
        Case("missing access", es_tok(claims(now, access=None)), True, False),
        Case("empty access", es_tok(claims(now, access=[])), True, False),
        Case(
            "access to another repository",
            tok(
                _hdr("ES256", es),
                claims(
                    now,
                    access=[{"type": "repository", "name": "other/app", "actions": ["pull"]}],
                ),
                es.key,
            ),
            True,
            False,
        ),
        Case(
            "push only",
            es_tok(claims(now, access=[{"type": "repository", "name": REPO, "actions": ["push"]}])),
            True,
            False,
        ),
        # Rejected everywhere.
        Case(
            "wrong kid",
            tok(_hdr("ES256", pki.stranger, x5c=False), good, pki.stranger.key),
            False,
            False,
        ),
        Case(
            "kid of trusted key, signed by another",
            tok({"alg": "ES256", "kid": es.kid}, good, pki.stranger.key),
            False,
            False,
        ),
        Case(
            "untrusted x5c",
            tok(_hdr("ES256", pki.stranger, kid=False), good, pki.stranger.key),
            False,
            False,
        ),
        Case(
            "untrusted x5c with trusted kid",
            tok({"alg": "ES256", "kid": es.kid, "x5c": pki.stranger.x5c}, good, es.key),
            False,
            False,
        ),
        Case(
            "x5c leaf issued by a non-CA bundle cert",
            tok({"alg": "ES256", "x5c": [*pki.by_leaf.x5c, *es.x5c]}, good, pki.by_leaf.key),
            False,
            False,
        ),
        Case(
            "expired cert in x5c",
            tok(_hdr("ES256", pki.expired), good, pki.expired.key),
            False,
            False,
        ),
        Case(
            "untrusted jwk",
            tok({"alg": "ES256", "jwk": pki.stranger.jwk()}, good, pki.stranger.key),
            False,
            False,
        ),
        Case("no key reference", tok({"alg": "ES256"}, good, es.key), False, False),
        Case("ES384 with P-256 key", tok(_hdr("ES384", es), good, es.key), False, False),
        Case(
            "ES256 with RSA key",
            tok(_hdr("ES256", rs), good, rs.key, sign_alg="RS256"),
            False,
            False,
        ),
        Case(
            "RS256 with EC key",
            tok(_hdr("RS256", es), good, es.key, sign_alg="ES256"),
            False,
            False,
        ),
        Case("PS256 with RSA key", tok(_hdr("PS256", rs), good, rs.key), False, False),
        Case("alg none, empty signature", tok(_hdr("none", es), good, None), False, False),
        Case(
            "alg none, ES256 signature",
            tok(_hdr("none", es), good, es.key, sign_alg="ES256"),
            False,
            False,
        ),
        Case(
            "HS256 keyed with public key PEM",
            tok(_hdr("HS256", es), good, None, hmac_secret=es.public_pem()),
            False,
            False,
        ),
        Case(
            "HS256 keyed with RSA public key PEM",
            tok(_hdr("HS256", rs), good, None, hmac_secret=rs.public_pem()),
            False,
            False,
        ),
        Case("DER-encoded ES256 signature", es_tok(good, der=True), False, False),
        Case("aud as array", es_tok(claims(now, aud=[SERVICE])), False, False),
        Case("float exp", es_tok(float_exp), False, False),
        Case("exponent exp", es_tok(sci_exp), False, False),
        Case("float iat", es_tok(claims(now, iat=now + 0.5)), False, False),
        Case("string exp", es_tok(claims(now, exp=str(now + 300))), False, False),
        Case("exp beyond leeway", es_tok(claims(now, exp=now - 120)), False, False),
        Case("nbf beyond leeway", es_tok(claims(now, nbf=now + 120)), False, False),
        Case("no exp", es_tok(claims(now, exp=None)), False, False),
        Case("wrong iss", es_tok(claims(now, iss="evil")), False, False),
        Case("wrong aud", es_tok(claims(now, aud="other")), False, False),
        Case("tampered claims", bearer(".".join(tampered)), False, False),
        Case("float nbf", es_tok(claims(now, nbf=now - 0.5)), False, False),
        Case("exp beyond int64", es_tok(claims(now, exp=2**64)), False, False),
        Case("kid not a string", tok({"alg": "ES256", "kid": 7}, good, es.key), False, False),
        Case(
            "x5c with a junk certificate",
            tok({"alg": "ES256", "x5c": [*es.x5c, "AAAA"]}, good, es.key),
            False,
            False,
        ),
        Case("empty bearer token", "Bearer ", False, False, presented=False),
        Case("two parts", bearer(".".join(ok.split(".")[:2])), False, False),
        Case("garbage", bearer("not-a-token"), False, False),
        Case("basic scheme", "Basic YWxpY2U6c2VjcmV0", False, False, presented=False),
        Case("double space", f"Bearer  {ok}", False, False, presented=False),
        Case("no authorization", "", False, False, presented=False),
    ]
    return cases
