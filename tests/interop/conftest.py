"""The stack the real-client interop tests share: authsvc in front of one registry.

For each registry (Debian's Distribution 2.8 and our ``registry serve``) and each key algorithm
(ES256, RS256): ``authsvc serve`` (real console script, temp SQLite migrated by
``authsvc db upgrade``, users and rules made with the CLI, keys from ``authsvc keys generate``)
and a registry whose ``rootcertbundle`` holds several certificates (rotation). The fixture is
session-scoped so that the client modules share each stack rather than starting their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.authsvc_stack import (
    build_oci_image,
    prepare_authsvc,
    serve_authsvc,
    serve_distribution,
    serve_ours,
)
from tests.interop.clients import PASSWORDS, Stack, creds, skopeo
from tests.oidc_issuer import TestIssuer
from tests.support import require_tool


@pytest.fixture(
    scope="session",
    params=[
        ("ours", "ES256"),
        ("ours", "RS256"),
        ("distribution", "ES256"),
        ("distribution", "RS256"),
    ],
    ids=lambda p: "-".join(p),
)
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    oidc_issuer: TestIssuer,
) -> Iterator[Stack]:
    """Start authsvc and one registry for one algorithm; seed users, rules and an image."""
    require_tool("skopeo")
    kind, alg = request.param
    binary = require_tool("docker-registry") if kind == "distribution" else ""
    tmp = tmp_path_factory.mktemp(f"interop-{kind}-{alg}")
    svc = prepare_authsvc(tmp / "authsvc", alg)
    # The CI issuer's certificate chains to the test CA, trusted through this setting only.
    svc.env["AUTHSVC_TRUST_CA_FILE"] = str(oidc_issuer.ca)
    svc.add_users(PASSWORDS)
    svc.add_rules(
        [
            ("admin", "*", "*", "repository"),
            ("admin", "catalog", "*", "registry"),
            ("alice", "team/*", "pull,push,delete", "repository"),
            ("carol", "team/*", "pull,push", "repository"),
            ("reader", "team/*", "pull", "repository"),
        ]
    )
    svc.cli("user", "disable", "carol")
    # reader gets the catalog filtered to what it may pull (the authsvc.catalog claim).
    svc.cli("acl", "add", "--account", "reader", "--type", "registry", "--name", "catalog",
            "--actions", "*", "--filtered")  # fmt: skip
    # A second signer (the next key of a rotation) shares the database; its certificate and an
    # unrelated one are in the bundle too, the active certificate last.
    other_alg = "RS256" if alg == "ES256" else "ES256"
    nxt = prepare_authsvc(tmp / "authsvc-next", other_alg, migrate=False)
    nxt.env["AUTHSVC_DATABASE_URL"] = svc.env["AUTHSVC_DATABASE_URL"]
    unrelated = prepare_authsvc(tmp / "unrelated", alg, migrate=False)
    bundle = tmp / "bundle.crt"
    bundle.write_bytes(nxt.cert.read_bytes() + unrelated.cert.read_bytes() + svc.cert.read_bytes())
    image = build_oci_image(tmp / "layout", text=f"hello from {alg}")
    registry = (
        serve_distribution(binary, tmp / "distribution", realm=svc.realm, bundle=bundle)
        if kind == "distribution"
        else serve_ours(tmp / "ours", realm=svc.realm, bundle=bundle)
    )
    with serve_authsvc(svc), registry as reg:
        stack = Stack(alg, svc, reg, image, f"{reg.host}/team/base:v1", tmp, nxt)
        skopeo(
            stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("admin"),
            image.ref, f"docker://{stack.base}",
        )  # fmt: skip
        yield stack
