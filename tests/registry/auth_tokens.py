"""Test support for registry auth: generated PKI, hand-built JWS tokens and the token battery.

Tokens are assembled by hand (not with PyJWT's encoder) so that the battery can produce what
a correct signer never would: float times, an `aud` list, DER ECDSA signatures, `alg: none`,
HMAC keyed with the public key, and so on.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from registry.auth.libtrust import key_id

ISSUER = "battery-issuer"
SERVICE = "battery.registry"
REALM = "https://auth.invalid/token"
REPO = "battery/app"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_CURVES: Mapping[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def new_key(kind: str) -> PrivateKey:
    """A fresh private key: "P-256", "P-384", "P-521" or "RSA" (2048 bits)."""
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(_CURVES[kind])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def certificate(
    key: PrivateKey,
    cn: str,
    *,
    issuer: Signer | None = None,
    ca: bool = False,
    days: tuple[int, int] = (-1, 365),
) -> x509.Certificate:
    """A certificate for key, self-signed unless `issuer` is given; `days` = validity window."""
    now = dt.datetime.now(dt.UTC)
    signer_key: PrivateKey = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else _name(cn)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signer_key, hashes.SHA256())


@dataclass(frozen=True)
class Signer:
    """A private key, its certificate and its libtrust key ID."""

    key: PrivateKey
    cert: x509.Certificate

    @property
    def kid(self) -> str:
        """libtrust key ID of the public key."""
        return key_id(self.key.public_key())

    @property
    def x5c(self) -> list[str]:
        """The x5c header value for this certificate alone."""
        return [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public key (the HMAC-confusion secret)."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        """The public JWK (RFC 7518 §6) of the key."""
        pub = self.key.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            nums = pub.public_numbers()
            return {"kty": "RSA", "n": b64int(nums.n), "e": b64int(nums.e)}
        enc = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64url(enc.x.to_bytes(size, "big")),
            "y": b64url(enc.y.to_bytes(size, "big")),
        }


def make_signer(kind: str, cn: str, **cert_args: Any) -> Signer:
    """A new key of `kind` with a certificate (see `certificate`)."""
    key = new_key(kind)
    return Signer(key, certificate(key, cn, **cert_args))


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64int(value: int) -> str:
    """A JWK integer: big-endian, minimal length, base64url."""
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def sign(key: PrivateKey, alg: str, data: bytes, *, der: bool = False) -> bytes:
    """Sign as JWS `alg` would with key; ES* give raw r||s unless `der` (the bad form)."""
    hash_cls = _HASHES[alg[2:]]
    if isinstance(key, rsa.RSAPrivateKey):
        if alg.startswith("PS"):
            pss = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=padding.PSS.DIGEST_LENGTH)
            return key.sign(data, pss, hash_cls())
        return key.sign(data, padding.PKCS1v15(), hash_cls())
    signature = key.sign(data, ec.ECDSA(hash_cls()))
    if der:
        return signature
    r, s = decode_dss_signature(signature)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def claims(now: int, **overrides: Any) -> dict[str, Any]:
    """A valid claim set for REPO pull; keyword overrides replace members, None removes one."""
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": secrets.token_hex(16),
        "access": [{"type": "repository", "name": REPO, "actions": ["pull"]}],
    }
    for member, value in overrides.items():
        if value is None:
            body.pop(member, None)
        else:
            body[member] = value
    return body


def make_token(
    header: Mapping[str, Any],
    body: Mapping[str, Any] | str,
    key: PrivateKey | None,
    *,
    sign_alg: str | None = None,
    der: bool = False,
    hmac_secret: bytes | None = None,
) -> str:
    """Assemble header.claims.signature; `body` may be raw JSON text (e.g. with 1.5e9)."""
    text = body if isinstance(body, str) else json.dumps(body)
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(text.encode())}".encode()
    alg = sign_alg or str(header.get("alg"))
    if hmac_secret is not None:
        signature = hmac.new(hmac_secret, signing_input, hashlib.sha256).digest()
    elif key is None:
        signature = b""
    else:
        signature = sign(key, alg, signing_input, der=der)
    return f"{signing_input.decode()}.{b64url(signature)}"


@dataclass(frozen=True)
class Pki:
    """Every key and certificate the battery needs; `bundle` is the trusted set."""

    es256: Signer  # the current ES256 key (trusted)
    rs256: Signer  # an RSA key (trusted; a second bundle cert, as during rotation)
    es384: Signer
    es512: Signer
    ca: Signer  # a trusted CA that issues `issued`
    issued: Signer  # leaf signed by `ca`, NOT in the bundle
    expired: Signer  # trusted, but its certificate has expired
    stranger: Signer  # self-signed, untrusted
    by_leaf: Signer  # leaf "issued" by es256's non-CA certificate

    @classmethod
    def generate(cls) -> Pki:
        """Generate all keys (one RSA key generation; P-curves are fast)."""
        ca = make_signer("P-256", "battery CA", ca=True)
        es256 = make_signer("P-256", "battery ES256")
        issued_key = new_key("P-256")
        by_leaf_key = new_key("P-256")
        return cls(
            es256=es256,
            rs256=make_signer("RSA", "battery RS256"),
            es384=make_signer("P-384", "battery ES384"),
            es512=make_signer("P-521", "battery ES512"),
            ca=ca,
            issued=Signer(issued_key, certificate(issued_key, "issued leaf", issuer=ca)),
            expired=make_signer("P-256", "battery expired", days=(-30, -1)),
            stranger=make_signer("P-256", "stranger"),
            by_leaf=Signer(by_leaf_key, certificate(by_leaf_key, "by leaf", issuer=es256)),
        )

    def write_bundle(self, path: Path) -> Path:
        """Write the rootcertbundle: several certificates, in PEM."""
        trusted = [self.es256, self.rs256, self.es384, self.es512, self.ca, self.expired]
        path.write_bytes(b"".join(s.cert.public_bytes(serialization.Encoding.PEM) for s in trusted))
        return path


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


def bearer(token: str) -> str:
    """An Authorization header value for a token."""
    return f"Bearer {token}"


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
    cases = [
        # Accepted: both key types, every lookup, rotation, leeway, wildcard.
        Case("es256 kid+x5c", bearer(ok), True, True),
        Case("rs256 kid+x5c", bearer(make_token(_hdr("RS256", rs), good, rs.key)), True, True),
        Case(
            "es256 kid only",
            bearer(make_token(_hdr("ES256", es, x5c=False), good, es.key)),
            True,
            True,
        ),
        Case(
            "rs256 kid only",
            bearer(make_token(_hdr("RS256", rs, x5c=False), good, rs.key)),
            True,
            True,
        ),
        Case(
            "es256 x5c only",
            bearer(make_token(_hdr("ES256", es, kid=False), good, es.key)),
            True,
            True,
        ),
        Case(
            "es384 kid",
            bearer(make_token(_hdr("ES384", pki.es384), good, pki.es384.key)),
            True,
            True,
        ),
        Case(
            "es512 kid",
            bearer(make_token(_hdr("ES512", pki.es512), good, pki.es512.key)),
            True,
            True,
        ),
        Case("rs512 kid", bearer(make_token(_hdr("RS512", rs), good, rs.key)), True, True),
        Case(
            "x5c leaf issued by bundle CA",
            bearer(make_token({"alg": "ES256", "x5c": issued_chain}, good, pki.issued.key)),
            True,
            True,
        ),
        Case(
            "x5c leaf alone, CA in bundle",
            bearer(make_token({"alg": "ES256", "x5c": pki.issued.x5c}, good, pki.issued.key)),
            True,
            True,
        ),
        Case(
            "jwk equal to bundle key",
            bearer(make_token({"alg": "ES256", "jwk": es.jwk()}, good, es.key)),
            True,
            True,
        ),
        Case(
            "jwk rsa equal to bundle key",
            bearer(make_token({"alg": "RS256", "jwk": rs.jwk()}, good, rs.key)),
            True,
            True,
        ),
        Case(
            "jwk with x5c to bundle CA",
            bearer(
                make_token(
                    {"alg": "ES256", "jwk": {**pki.issued.jwk(), "x5c": issued_chain}},
                    good,
                    pki.issued.key,
                )
            ),
            True,
            True,
        ),
        Case(
            "expired cert, kid only",
            bearer(make_token(_hdr("ES256", pki.expired, x5c=False), good, pki.expired.key)),
            True,
            True,
        ),
        Case(
            "exp within leeway",
            bearer(make_token(_hdr("ES256", es), claims(now, exp=now - 20), es.key)),
            True,
            True,
        ),
        Case(
            "nbf within leeway",
            bearer(make_token(_hdr("ES256", es), claims(now, nbf=now + 20), es.key)),
            True,
            True,
        ),
        Case(
            "no nbf",
            bearer(make_token(_hdr("ES256", es), claims(now, nbf=None), es.key)),
            True,
            True,
        ),
        Case("wildcard action", bearer(make_token(_hdr("ES256", es), star, es.key)), True, True),
        Case(
            "resource class ignored",
            bearer(make_token(_hdr("ES256", es), plugin, es.key)),
            True,
            True,
        ),
        Case("lowercase bearer scheme", f"bearer {ok}", True, True),
        Case("upper-case BEARER scheme", f"BEARER {ok}", True, True),
        Case("padded base64url segments", bearer(padded), True, True),
        Case(
            "no iat",
            bearer(make_token(_hdr("ES256", es), claims(now, iat=None), es.key)),
            True,
            True,
        ),
        Case(
            "null sub",
            bearer(make_token(_hdr("ES256", es), {**good, "sub": None}, es.key)),
            True,
            True,
        ),
        # Valid tokens that do not grant pull on REPO: accepted on /v2/ only.
        Case(
            "missing access",
            bearer(make_token(_hdr("ES256", es), claims(now, access=None), es.key)),
            True,
            False,
        ),
        Case(
            "empty access",
            bearer(make_token(_hdr("ES256", es), claims(now, access=[]), es.key)),
            True,
            False,
        ),
        Case(
            "access to another repository",
            bearer(
                make_token(
                    _hdr("ES256", es),
                    claims(
                        now,
                        access=[{"type": "repository", "name": "other/app", "actions": ["pull"]}],
                    ),
                    es.key,
                )
            ),
            True,
            False,
        ),
        Case(
            "push only",
            bearer(
                make_token(
                    _hdr("ES256", es),
                    claims(now, access=[{"type": "repository", "name": REPO, "actions": ["push"]}]),
                    es.key,
                )
            ),
            True,
            False,
        ),
        # Rejected everywhere.
        Case(
            "wrong kid",
            bearer(make_token(_hdr("ES256", pki.stranger, x5c=False), good, pki.stranger.key)),
            False,
            False,
        ),
        Case(
            "kid of trusted key, signed by another",
            bearer(make_token({"alg": "ES256", "kid": es.kid}, good, pki.stranger.key)),
            False,
            False,
        ),
        Case(
            "untrusted x5c",
            bearer(make_token(_hdr("ES256", pki.stranger, kid=False), good, pki.stranger.key)),
            False,
            False,
        ),
        Case(
            "untrusted x5c with trusted kid",
            bearer(
                make_token({"alg": "ES256", "kid": es.kid, "x5c": pki.stranger.x5c}, good, es.key)
            ),
            False,
            False,
        ),
        Case(
            "x5c leaf issued by a non-CA bundle cert",
            bearer(
                make_token(
                    {"alg": "ES256", "x5c": [*pki.by_leaf.x5c, *es.x5c]}, good, pki.by_leaf.key
                )
            ),
            False,
            False,
        ),
        Case(
            "expired cert in x5c",
            bearer(make_token(_hdr("ES256", pki.expired), good, pki.expired.key)),
            False,
            False,
        ),
        Case(
            "untrusted jwk",
            bearer(make_token({"alg": "ES256", "jwk": pki.stranger.jwk()}, good, pki.stranger.key)),
            False,
            False,
        ),
        Case("no key reference", bearer(make_token({"alg": "ES256"}, good, es.key)), False, False),
        Case(
            "ES384 with P-256 key",
            bearer(make_token(_hdr("ES384", es), good, es.key)),
            False,
            False,
        ),
        Case(
            "ES256 with RSA key",
            bearer(make_token(_hdr("ES256", rs), good, rs.key, sign_alg="RS256")),
            False,
            False,
        ),
        Case(
            "RS256 with EC key",
            bearer(make_token(_hdr("RS256", es), good, es.key, sign_alg="ES256")),
            False,
            False,
        ),
        Case(
            "PS256 with RSA key", bearer(make_token(_hdr("PS256", rs), good, rs.key)), False, False
        ),
        Case(
            "alg none, empty signature",
            bearer(make_token(_hdr("none", es), good, None)),
            False,
            False,
        ),
        Case(
            "alg none, ES256 signature",
            bearer(make_token(_hdr("none", es), good, es.key, sign_alg="ES256")),
            False,
            False,
        ),
        Case(
            "HS256 keyed with public key PEM",
            bearer(make_token(_hdr("HS256", es), good, None, hmac_secret=es.public_pem())),
            False,
            False,
        ),
        Case(
            "HS256 keyed with RSA public key PEM",
            bearer(make_token(_hdr("HS256", rs), good, None, hmac_secret=rs.public_pem())),
            False,
            False,
        ),
        Case(
            "DER-encoded ES256 signature",
            bearer(make_token(_hdr("ES256", es), good, es.key, der=True)),
            False,
            False,
        ),
        Case(
            "aud as array",
            bearer(make_token(_hdr("ES256", es), claims(now, aud=[SERVICE]), es.key)),
            False,
            False,
        ),
        Case("float exp", bearer(make_token(_hdr("ES256", es), float_exp, es.key)), False, False),
        Case("exponent exp", bearer(make_token(_hdr("ES256", es), sci_exp, es.key)), False, False),
        Case(
            "float iat",
            bearer(make_token(_hdr("ES256", es), claims(now, iat=now + 0.5), es.key)),
            False,
            False,
        ),
        Case(
            "string exp",
            bearer(make_token(_hdr("ES256", es), claims(now, exp=str(now + 300)), es.key)),
            False,
            False,
        ),
        Case(
            "exp beyond leeway",
            bearer(make_token(_hdr("ES256", es), claims(now, exp=now - 120), es.key)),
            False,
            False,
        ),
        Case(
            "nbf beyond leeway",
            bearer(make_token(_hdr("ES256", es), claims(now, nbf=now + 120), es.key)),
            False,
            False,
        ),
        Case(
            "no exp",
            bearer(make_token(_hdr("ES256", es), claims(now, exp=None), es.key)),
            False,
            False,
        ),
        Case(
            "wrong iss",
            bearer(make_token(_hdr("ES256", es), claims(now, iss="evil"), es.key)),
            False,
            False,
        ),
        Case(
            "wrong aud",
            bearer(make_token(_hdr("ES256", es), claims(now, aud="other"), es.key)),
            False,
            False,
        ),
        Case("tampered claims", bearer(".".join(tampered)), False, False),
        Case(
            "float nbf",
            bearer(make_token(_hdr("ES256", es), claims(now, nbf=now - 0.5), es.key)),
            False,
            False,
        ),
        Case(
            "exp beyond int64",
            bearer(make_token(_hdr("ES256", es), claims(now, exp=2**64), es.key)),
            False,
            False,
        ),
        Case(
            "kid not a string",
            bearer(make_token({"alg": "ES256", "kid": 7}, good, es.key)),
            False,
            False,
        ),
        Case(
            "x5c with a junk certificate",
            bearer(make_token({"alg": "ES256", "x5c": [*es.x5c, "AAAA"]}, good, es.key)),
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
