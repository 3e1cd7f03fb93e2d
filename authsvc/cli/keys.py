"""``authsvc keys``: generate a signing key and certificate, or check the configured pair."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import cast

from authsvc.cli.common import CliError, get_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys generate`` and ``keys check``."""
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
