"""``authsvc keys``: generate a signing key and certificate, or check the configured pair."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, cast

from authsvc.cli.common import CliError, get_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys generate``, ``check``, ``bundle``, ``rotate`` and ``jwks``."""
    parser = subparsers.add_parser("keys", help="token signing keys")
    sub = parser.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate", help="write DIR/token.key (0600) and DIR/token.crt; print the key ID"
    )
    gen.add_argument("--alg", choices=("ES256", "RS256"), default="ES256")
    gen.add_argument("--out", required=True, type=Path, metavar="DIR")
    gen.add_argument("--days", type=int, default=3650, help="certificate validity (days)")
    gen.add_argument("--common-name", default="authsvc token signer")
    gen.add_argument("--force", action="store_true", help="replace existing files")
    gen.set_defaults(func=generate)

    check = sub.add_parser("check", help="validate the configured key and certificate")
    check.set_defaults(func=check_pair)

    bundle = sub.add_parser(
        "bundle", help="print the PEM bundle for a registry's auth.token.rootcertbundle"
    )
    bundle.set_defaults(func=print_bundle)

    rotate = sub.add_parser(
        "rotate",
        help="promote the next key in DIR, make a new next key, rewrite DIR/published.crt",
    )
    rotate.add_argument("--dir", required=True, type=Path, metavar="DIR")
    rotate.add_argument(
        "--alg", choices=("ES256", "RS256"), help="the new key's algorithm (default: the active's)"
    )
    rotate.add_argument(
        "--keep", type=int, default=2, help="previous certificates kept published (default 2)"
    )
    rotate.set_defaults(func=rotate_keys)

    keyset = sub.add_parser("jwks", help="print the JWKS for Distribution 3's auth.token.jwks")
    keyset.set_defaults(func=print_jwks)


def generate(args: argparse.Namespace) -> int:
    """Generate a key pair and self-signed certificate; print the libtrust key ID."""
    from authsvc.keys import Algorithm, generate_key, self_signed_certificate, write_key_pair
    from authsvc.libtrust import key_id

    if args.days < 1:
        raise CliError("--days must be at least 1")
    key = generate_key(cast(Algorithm, args.alg))
    cert = self_signed_certificate(key, common_name=args.common_name, days=args.days)
    try:
        write_key_pair(args.out, key, cert, overwrite=args.force)
    except FileExistsError as exc:
        raise CliError(f"{exc} (use --force)") from None
    except OSError as exc:
        raise CliError(f"cannot write keys to {args.out}: {exc.strerror or exc}") from None
    print(key_id(key.public_key()))
    return 0


def rotate_keys(args: argparse.Namespace) -> int:
    """One rotation step; say what signs now and what the registries must trust next."""
    from authsvc.key_rotation import PUBLISHED, RotationError, rotate

    try:
        done = rotate(args.dir, alg=args.alg, keep=args.keep)
    except RotationError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot rotate the keys in {args.dir}: {exc.strerror or exc}") from None
    state = "promoted from next" if done.promoted else "unchanged: no next key to promote yet"
    print(f"active:    {done.active} ({state})")
    print(f"next:      {done.next} (published, not signing)")
    for kid in done.previous:
        print(f"previous:  {kid} (published, still verifies)")
    for kid in done.dropped:
        print(f"dropped:   {kid}")
    print(f"published: {args.dir / PUBLISHED}")
    print(
        "Now: kill -HUP authsvc (each replica), then give every registry the new "
        "`authsvc keys bundle` or `keys jwks` output before the next rotation."
    )
    return 0


def check_pair(args: argparse.Namespace) -> int:
    """Load the configured key and certificate as ``serve`` does; print alg and key ID."""
    from authsvc.keys import KeyLoadError, load_signing_material

    token = get_config(args).token
    try:
        material = load_signing_material(token.signing_key, token.signing_cert)
    except KeyLoadError as exc:
        raise CliError(str(exc)) from None
    print(f"{material.alg} {material.kid}")
    return 0


def _published(args: argparse.Namespace) -> tuple[Any, tuple[Any, ...], str]:
    """The active material, the published certificates, and the configured kid form."""
    from authsvc.keys import KeyLoadError, load_certificates, load_signing_material

    token = get_config(args).token
    try:
        material = load_signing_material(token.signing_key, token.signing_cert)
        published = load_certificates(token.published_certs) if token.published_certs else ()
    except KeyLoadError as exc:
        raise CliError(str(exc)) from None
    return material, published, token.kid_format


def print_bundle(args: argparse.Namespace) -> int:
    """The active certificate, then the published ones: what registries must trust."""
    from cryptography.hazmat.primitives import serialization

    material, published, _ = _published(args)
    seen: set[bytes] = set()
    for cert in (material.chain[0], *published):
        pem = cert.public_bytes(serialization.Encoding.PEM)
        if pem not in seen:
            seen.add(pem)
            sys.stdout.write(pem.decode("ascii"))
    return 0


def print_jwks(args: argparse.Namespace) -> int:
    """The JWK Set of the active and published keys, kids in AUTHSVC_TOKEN_KID_FORMAT."""
    from authsvc.jwk import published_jwks

    material, published, kid_format = _published(args)
    print(json.dumps(published_jwks(material.key.public_key(), published, kid_format), indent=2))
    return 0
