"""JWKs, RFC 7638 thumbprints, the kid-only header, the JWKS endpoint and ``keys jwks|bundle``."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.app import create_app
from authsvc.jwk import jwk, jwks, thumbprint
from authsvc.jwt_signer import JwtSigner
from authsvc.keys import load_signing_material
from authsvc.libtrust import key_id
from tests.authsvc.token_endpoint.helpers import AiohttpClient
from tests.authsvc.tokenhelpers import make_config, make_keys

if TYPE_CHECKING:
    from tests.authsvc.conftest import Cli


def b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_rfc7638_example_thumbprint() -> None:
    # RFC 7638 §3.1: the RSA key of RFC 7517 appendix A.1 and its thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
        "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
        "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
        "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    key = rsa.RSAPublicNumbers(65537, b64url_int(n)).public_key()
    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_ec_coordinates_keep_their_leading_zeros() -> None:
    # Find a P-256 key whose x starts with a zero byte: its JWK still has 32 bytes of x.
    while True:
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        if key.public_numbers().x < 1 << 248:
            break
    entry = jwk(key, "thumbprint")
    assert len(base64.urlsafe_b64decode(entry["x"] + "=")) == 32
    assert entry["kid"] == thumbprint(key) and entry["alg"] == "ES256" and entry["use"] == "sig"
    assert jwk(key, "libtrust")["kid"] == key_id(key)
    assert jwks([key, key], "libtrust") == {"keys": [jwk(key, "libtrust")]}


def test_kid_only_header_with_a_thumbprint(tmp_path: Path) -> None:
    keys = make_keys(tmp_path, "ES256")
    material = load_signing_material(keys.key, keys.cert)
    token = JwtSigner(material, header="kid", kid_format="thumbprint").sign({"sub": "x"})
    header = jwt.get_unverified_header(token)
    assert set(header) == {"typ", "alg", "kid"}
    assert header["kid"] == thumbprint(material.key.public_key())
    # The default stays what Distribution 2.8 needs: x5c and the libtrust kid.
    header = jwt.get_unverified_header(JwtSigner(material).sign({"sub": "x"}))
    assert header["kid"] == material.kid and len(header["x5c"]) == 1


async def test_jwks_endpoint_publishes_active_and_published_keys(
    aiohttp_client: AiohttpClient, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    active = make_keys(tmp_path_factory.mktemp("a"), "ES256")
    nxt = make_keys(tmp_path_factory.mktemp("b"), "RS256")
    config = make_config(db_url, active)
    token = dataclasses.replace(
        config.token, published_certs=nxt.cert, header="kid", kid_format="thumbprint"
    )
    client = await aiohttp_client(create_app(dataclasses.replace(config, token=token)))
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status == 200 and "max-age" in resp.headers["Cache-Control"]
    body = await resp.json()
    certs = [x509.load_pem_x509_certificate(k.cert.read_bytes()) for k in (active, nxt)]
    expected = [thumbprint(c.public_key()) for c in certs]  # type: ignore[arg-type]
    assert [k["kid"] for k in body["keys"]] == expected
    assert [k["kty"] for k in body["keys"]] == ["EC", "RSA"]
    assert all("d" not in k for k in body["keys"])
    # A token's kid is found in the set, as Distribution 3 looks it up.
    resp = await client.get("/auth", params={"service": "registry"})
    kid = jwt.get_unverified_header((await resp.json())["token"])["kid"]
    assert kid == body["keys"][0]["kid"]


def test_keys_jwks_and_bundle(
    cli: Cli, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = make_keys(tmp_path_factory.mktemp("a"), "ES256")
    nxt = make_keys(tmp_path_factory.mktemp("b"), "ES256")
    monkeypatch.setenv("AUTHSVC_SIGNING_KEY", str(active.key))
    monkeypatch.setenv("AUTHSVC_SIGNING_CERT", str(active.cert))
    monkeypatch.setenv("AUTHSVC_PUBLISHED_CERTS", str(nxt.cert))
    out = json.loads(cli.ok("keys", "jwks"))
    assert len(out["keys"]) == 2 and ":" in out["keys"][0]["kid"]  # libtrust by default
    bundle = cli.ok("keys", "bundle")
    assert bundle.count("BEGIN CERTIFICATE") == 2
    assert bundle.startswith(active.cert.read_text().split("-----END")[0])
