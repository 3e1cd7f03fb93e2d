"""A CI system's OpenID issuer for the federation tests: discovery, a JWKS, and token minting.

It plays GitHub Actions' and GitLab CI's part: an aiohttp app served over HTTPS on loopback with
a certificate from a ``TestCa`` (so authsvc must be told to trust that CA), publishing a
discovery document and a JWKS with an RSA key (RS256) and a P-256 key (ES256). Tests mint
GitHub-shaped and GitLab-shaped ID tokens with ``mint``; a third key (``rogue``) is never
published, and ``rotate`` publishes a new key to exercise the refetch on an unknown ``kid``.

It runs in its own thread with its own event loop, so that in-process app tests (whose loop is
per test), subprocess servers and real clients can all use the one session-wide instance.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.testca import TestCa

AUDIENCE = "authsvc-test"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class SigningKey:
    """A private key, its kid and its algorithm."""

    kid: str
    alg: str
    key: PrivateKey

    def jwk(self) -> dict[str, Any]:
        """The public JWK (what the JWKS publishes)."""
        public = self.key.public_key()
        algorithm = RSAAlgorithm if self.alg.startswith("RS") else ECAlgorithm
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))  # type: ignore[arg-type]
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        """The public key as PEM (what an HS256 confusion attack uses as the secret)."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _rsa(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _ec(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class TestIssuer:
    """The running issuer: its URL, the CA to trust, its keys and request counters."""

    __test__ = False  # a helper, not a pytest test class

    url: str
    ca: Path
    keys: dict[str, SigningKey]
    rogue: SigningKey
    published: list[str]
    hits: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0})

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        return {"keys": [self.keys[kid].jwk() for kid in self.published]}

    def rotate(self) -> SigningKey:
        """Publish a new EC key and return it (old keys stay published)."""
        new = _ec(f"ec-{secrets.token_hex(4)}")
        self.keys[new.kid] = new
        self.published.append(new.kid)
        return new

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Time claims for a token valid for five minutes, with ``overrides`` on top."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        return {**base, **overrides}

    def github(self, repository: str = "org/app", **overrides: Any) -> dict[str, Any]:
        """Claims shaped like a GitHub Actions ID token (docs.github.com, "About security
        hardening with OpenID Connect"), for a push to main in the production environment."""
        ref = overrides.pop("ref", "refs/heads/main")
        environment = overrides.pop("environment", "production")
        workflow = f"{repository}/.github/workflows/release.yml@{ref}"
        return self.claims(
            sub=f"repo:{repository}:environment:{environment}",
            repository=repository,
            repository_owner=repository.split("/")[0],
            ref=ref,
            ref_type="branch",
            workflow_ref=workflow,
            job_workflow_ref=workflow,
            environment=environment,
            event_name="push",
            actor="octocat",
            run_id="1234567890",
            runner_environment="github-hosted",
            **overrides,
        )

    def gitlab(self, project_path: str = "group/app", **overrides: Any) -> dict[str, Any]:
        """Claims shaped like a GitLab CI ID token (docs.gitlab.com, "OpenID Connect (OIDC)
        Authentication Using ID Tokens"), for a pipeline on the protected branch main."""
        ref = overrides.pop("ref", "main")
        protected = overrides.pop("ref_protected", "true")
        return self.claims(
            sub=f"project_path:{project_path}:ref_type:branch:ref:{ref}",
            project_path=project_path,
            namespace_path=project_path.split("/")[0],
            ref=ref,
            ref_type="branch",
            ref_protected=protected,
            pipeline_source="push",
            user_login="gitlab-user",
            **overrides,
        )

    def mint(self, claims: dict[str, Any], *, kid: str = "rsa-1") -> str:
        """Sign ``claims`` with the key ``kid`` (``rogue``: the unpublished key)."""
        key = self.rogue if kid == "rogue" else self.keys[kid]
        return jwt.encode(claims, key.key, algorithm=key.alg, headers={"kid": key.kid})

    def mint_hs256_with_public_key(self, claims: dict[str, Any], kid: str = "rsa-1") -> str:
        """The algorithm-confusion attack (RFC 8725 §2.1): HS256 keyed with the public key."""
        header = {"alg": "HS256", "typ": "JWT", "kid": kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        mac = hmac.new(self.keys[kid].public_pem(), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_b64(mac.digest())}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _app(issuer: TestIssuer) -> web.Application:
    async def discovery(request: web.Request) -> web.Response:
        issuer.hits["discovery"] += 1
        return web.json_response(
            {
                "issuer": issuer.url,
                "jwks_uri": f"{issuer.url}/.well-known/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        )

    async def jwks(request: web.Request) -> web.Response:
        issuer.hits["jwks"] += 1
        return web.json_response(issuer.jwks())

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/.well-known/jwks", jwks)
    return app


@contextmanager
def run_test_issuer(directory: Path) -> Iterator[TestIssuer]:
    """Serve an issuer on 127.0.0.1 over HTTPS (a new test CA) until the block ends."""
    ca = TestCa(directory / "ca.pem", "oidc-issuer")
    leaf = ca.issue(directory / "server.pem", directory / "server.key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(leaf.cert, leaf.key)
    keys = {k.kid: k for k in (_rsa("rsa-1"), _ec("ec-1"))}
    issuer = TestIssuer("", ca.cert, keys, _rsa("rogue"), ["rsa-1", "ec-1"])
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(issuer), access_log=None)
    ready = threading.Event()

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        issuer.url = f"https://127.0.0.1:{port}"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="oidc-issuer", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield issuer
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
