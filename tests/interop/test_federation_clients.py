"""Keyless CI logins with real clients: skopeo presents an OpenID Connect ID token.

The ID token comes from the test issuer (tests/oidc_issuer.py, HTTPS with its own CA, which
authsvc trusts through AUTHSVC_TRUST_CA_FILE). skopeo logs in as ``oidc`` with the token on
standard input, as a CI job would, then pulls and pushes against Distribution 2.8 and our
registry; it is denied exactly where the trust's grants say.
"""

from __future__ import annotations

import json

import pytest

from tests.interop.authsvc_stack import run
from tests.interop.clients import Stack, refused, skopeo, skopeo_env
from tests.oidc_issuer import AUDIENCE, TestIssuer
from tests.support import require_tool

pytestmark = pytest.mark.interop


def test_skopeo_with_an_id_token_is_granted_exactly_the_trust(
    stack: Stack, oidc_issuer: TestIssuer
) -> None:
    stack.authsvc.cli(
        "trust", "add", "--name", "ci", "--issuer", oidc_issuer.url, "--audience", AUDIENCE,
        "--claim", "repository=org/app", "--claim", "ref=refs/heads/main",
        "--grant", "repository:team/ci/*:pull,push", "--grant", "repository:team/base:pull",
        "--ttl", "10m",
    )  # fmt: skip
    kid = "rsa-1" if stack.alg == "RS256" else "ec-1"
    token = oidc_issuer.mint(oidc_issuer.github(), kid=kid)
    authfile = stack.tmp / "oidc-auth.json"
    env = skopeo_env(stack.tmp)
    login = [require_tool("skopeo"), "login", "--tls-verify=false", "--authfile", str(authfile)]
    run([*login, "-u", "oidc", "--password-stdin", stack.registry.host], env=env, input=token)
    assert stack.registry.host in json.loads(authfile.read_text())["auths"]
    auth = ("--authfile", str(authfile))

    # Granted: pull team/base, push and pull under team/ci/.
    out = stack.tmp / "oidc-pulled"
    skopeo(stack, "copy", "--quiet", "--src-tls-verify=false", *auth,
           f"docker://{stack.base}", f"oci:{out}:v1")  # fmt: skip
    pushed = f"docker://{stack.repo('team/ci/app')}:v1"
    skopeo(stack, "copy", "--quiet", "--dest-tls-verify=false", *auth, stack.image.ref, pushed)
    _, info, _ = skopeo(stack, "inspect", "--tls-verify=false", *auth, pushed)
    assert json.loads(info)["Digest"] == stack.image.manifest_digest

    # Denied: push where only pull is granted, push outside the grant, delete (not granted).
    for target in (f"{stack.base}-ci", f"{stack.repo('team/app')}:ci"):
        code, _, err = skopeo(
            stack, "copy", "--quiet", "--dest-tls-verify=false", *auth,
            stack.image.ref, f"docker://{target}", check=False,
        )  # fmt: skip
        assert code != 0 and refused(err), (target, err)
    code, _, err = skopeo(stack, "delete", "--tls-verify=false", *auth, pushed, check=False)
    assert code != 0 and refused(err), err

    # A token from a branch the trust does not accept cannot log in at all.
    dev = oidc_issuer.mint(oidc_issuer.github(ref="refs/heads/dev"), kid=kid)
    result = run(
        [*login, "-u", "oidc", "--password-stdin", stack.registry.host],
        env=env, input=dev, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "invalid username" in result.stderr, result.stderr
