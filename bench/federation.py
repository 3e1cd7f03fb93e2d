"""Tokens/s for keyless CI logins: ``python -m bench.federation [--duration S] [--reps N]``.

A small measurement beside the suite (bench/README.md, "Keyless CI logins"): it starts the test
OpenID issuer (tests/oidc_issuer.py, HTTPS with its own CA), one ``authsvc serve`` on SQLite
trusting that CA, adds a trust, and drives with wrk, alternating repetitions:

- ``GET /auth`` with ``Basic oidc:ID_TOKEN`` (RS256 and ES256 ID tokens), every request a full
  verification of the ID token (signature, claims, trust match) against cached issuer keys;
- ``POST /auth`` token exchange (RFC 8693) with the RS256 token;
- ``GET /auth`` with Basic credentials of a password user seen moments ago (T2's request), as
  the reference on the same server in the same run.

It prints the median tokens/s of each and the server's CPU time per token, which a loaded
machine disturbs less than the rate. The load generator shares the machine with the server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import urllib.parse
from pathlib import Path

from bench.procs import cpu_seconds
from bench.services import SERVICE, basic
from bench.wrk import HttpRequest, run_wrk
from tests.interop.authsvc_stack import prepare_authsvc, serve_authsvc
from tests.oidc_issuer import AUDIENCE, run_test_issuer

FORM = "application/x-www-form-urlencoded"
SCOPE = "repository:org/app:pull,push"
PASSWORD = "bench-Password-1"


def main() -> int:
    """Run the measurement and print one line per request kind."""
    parser = argparse.ArgumentParser(prog="python -m bench.federation")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per repetition")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per request kind")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fed-") as tmp:
        root = Path(tmp)
        with run_test_issuer(root / "issuer") as issuer:
            svc = prepare_authsvc(root / "authsvc", "ES256")
            svc.env.update(
                AUTHSVC_TRUST_CA_FILE=str(issuer.ca),
                AUTHSVC_THROTTLE_FREE_ATTEMPTS="0",
                AUTHSVC_ACCESS_LOG="false",
                AUTHSVC_LOG_LEVEL="warning",
            )
            svc.cli(
                "trust", "add", "--name", "ci", "--issuer", issuer.url, "--audience", AUDIENCE,
                "--claim", "repository=org/app", "--claim", "ref=refs/heads/main",
                "--grant", "repository:org/app:pull,push",
            )  # fmt: skip
            svc.cli("user", "add", "bench", "--password-stdin", input=PASSWORD + "\n")
            svc.cli("acl", "add", "--account", "bench", "--name", "org/app", "--actions", "pull")
            claims = issuer.github()
            claims["exp"] += 3600  # outlive the run
            rs256, es256 = issuer.mint(claims, kid="rsa-1"), issuer.mint(claims, kid="ec-1")
            query = urllib.parse.urlencode({"service": SERVICE, "scope": SCOPE})
            get = f"{svc.realm}?{query}"
            exchange = urllib.parse.urlencode(
                {
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                    "subject_token": rs256,
                    "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                    "service": SERVICE,
                    "scope": SCOPE,
                }
            )
            kinds = {
                "GET Basic oidc, RS256 ID token": HttpRequest(
                    "GET", get, {"Authorization": basic("oidc", rs256)}
                ),
                "GET Basic oidc, ES256 ID token": HttpRequest(
                    "GET", get, {"Authorization": basic("oidc", es256)}
                ),
                "POST token exchange, RS256": HttpRequest(
                    "POST", svc.realm, {"Content-Type": FORM}, exchange
                ),
                "GET Basic password (T2 reference)": HttpRequest(
                    "GET", get, {"Authorization": basic("bench", PASSWORD)}
                ),
            }
            rates: dict[str, list[float]] = {name: [] for name in kinds}
            cpu_ms: dict[str, list[float]] = {name: [] for name in kinds}
            with serve_authsvc(svc):
                assert svc.proc is not None
                pid = svc.proc.pid
                for rep in range(-1, args.reps):  # rep -1 warms up (keys fetched, caches)
                    for name, req in kinds.items():
                        duration = args.duration if rep >= 0 else 1.0
                        cpu0 = cpu_seconds(pid) or 0.0
                        result = run_wrk(
                            svc.url, [req], duration=duration, connections=args.connections,
                            threads=1, workdir=root,
                        )  # fmt: skip
                        if result["errors"]:
                            raise SystemExit(f"{name}: {result['error_kinds']}")
                        if rep >= 0 and result["requests"]:
                            rates[name].append(result["rps"])
                            used = (cpu_seconds(pid) or 0.0) - cpu0
                            cpu_ms[name].append(used * 1000 / result["requests"])
            for name, values in rates.items():
                runs = ", ".join(f"{v:,.0f}" for v in values)
                cpu = statistics.median(cpu_ms[name])
                print(
                    f"{name}: median {statistics.median(values):,.0f} tokens/s ({runs}); "
                    f"server CPU {cpu:.2f} ms/token"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
