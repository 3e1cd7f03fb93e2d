"""``authsvc trust add|list|delete|check`` against a migrated database and the test issuer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.authsvc.conftest import Cli
from tests.oidc_issuer import AUDIENCE, TestIssuer


def add_github_trust(cli: Cli, issuer: TestIssuer, *extra: str) -> str:
    return cli.ok(
        "trust", "add", "--issuer", issuer.url, "--audience", AUDIENCE,
        "--claim", "repository=org/app", "--claim", "ref=refs/heads/main",
        "--grant", "repository:org/app:pull,push", "--ttl", "10m", *extra,
    )  # fmt: skip


def test_add_list_delete(cli: Cli, oidc_issuer: TestIssuer) -> None:
    out = add_github_trust(cli, oidc_issuer)
    assert out == "added trust org-app: tokens it accepts log in as oidc:org-app\n"
    add_github_trust(cli, oidc_issuer, "--name", "second")
    (first, second) = json.loads(cli.ok("trust", "list", "--json"))
    assert first == {
        "id": first["id"],
        "name": "org-app",
        "issuer": oidc_issuer.url,
        "audience": AUDIENCE,
        "claims": ["repository=org/app", "ref=refs/heads/main"],
        "grants": ["repository:org/app:pull,push"],
        "ttl": 600,
        "subject": "oidc:org-app",
    }
    assert second["name"] == "second"
    assert (
        cli.ok("trust", "list")
        .splitlines()[0]
        .startswith(
            f"org-app issuer={oidc_issuer.url} audience={AUDIENCE} "
            "claims=repository=org/app ref=refs/heads/main grants=repository:org/app:pull,push"
        )
    )
    assert cli.ok("trust", "delete", "org-app") == "deleted trust org-app\n"
    assert [t["name"] for t in json.loads(cli.ok("trust", "list", "--json"))] == ["second"]
    audit = cli.ok("audit", "list", "--event", "admin")
    assert "trust add" in audit and "trust delete name=org-app" in audit


def test_mistakes_are_refused_without_writing(cli: Cli, oidc_issuer: TestIssuer) -> None:
    add_github_trust(cli, oidc_issuer)
    base = ("trust", "add", "--issuer", oidc_issuer.url, "--audience", AUDIENCE)
    claim = ("--claim", "repository=org/app")
    grant = ("--grant", "repository:org/app:pull")
    cli.fails(
        [
            ((*base, *claim, *grant), "", "trust 'org-app' already exists"),
            ((*base, *grant, "--name", "x"), "", "at least one --claim is required"),
            ((*base, "--claim", "repository", *grant), "", "expected CLAIM=PATTERN"),
            ((*base, "--claim", "ref=/[/", *grant), "", "invalid regex"),
            ((*base, *claim, "--grant", "repository:x:fly"), "", "unknown action"),
            ((*base, *claim, *grant, "--ttl", "2h", "--name", "y"), "", "between 60 and 3600"),
            ((*base, *claim, *grant, "--name", "Bad Name"), "", "trust name"),
            (
                ("trust", "add", "--issuer", "http://x", "--audience", "a", *claim, *grant),
                "",
                "expected an https URL",
            ),
            (("trust", "delete", "nope"), "", "unknown trust 'nope'"),
        ]
    )


@pytest.fixture
def trusting_cli(cli: Cli, oidc_issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("AUTHSVC_TRUST_CA_FILE", str(oidc_issuer.ca))
    add_github_trust(cli, oidc_issuer)
    cli.ok(
        "trust", "add", "--issuer", oidc_issuer.url, "--audience", AUDIENCE, "--name", "gitlab",
        "--claim", "project_path=group/*", "--claim", "ref_protected=true",
        "--grant", "repository:group/*:pull",
    )  # fmt: skip
    return cli


def test_check_explains_which_trust_matches(
    trusting_cli: Cli, oidc_issuer: TestIssuer, tmp_path: Path
) -> None:
    token = tmp_path / "id_token"
    token.write_text(oidc_issuer.mint(oidc_issuer.github(), kid="ec-1") + "\n")
    out = trusting_cli.ok(
        "trust", "check", str(token), "repository:org/app:pull,push,delete", "repository:x:pull"
    )
    lines = out.splitlines()
    assert lines[0].startswith(f"token: iss={oidc_issuer.url} aud={AUDIENCE} sub=repo:org/app:")
    assert lines[1] == (
        "trust org-app: MATCHES -> subject oidc:org-app, grants repository:org/app:pull,push, "
        "token ttl 600s"
    )
    assert lines[2].startswith("trust gitlab: no match: claim 'project_path' is missing")
    assert lines[3] == (
        "repository:org/app:pull,push,delete -> pull,push "
        "(trust org-app grant repository:org/app:pull,push)"
    )
    assert lines[4] == "repository:x:pull -> (none) (no grant of org-app)"
    data = json.loads(
        trusting_cli.ok("trust", "check", str(token), "repository:org/app:pull", "--json")
    )
    assert data["matched"] == "org-app"
    assert data["access"] == [{"type": "repository", "name": "org/app", "actions": ["pull"]}]


def test_check_of_tokens_no_trust_accepts(
    trusting_cli: Cli, oidc_issuer: TestIssuer, tmp_path: Path
) -> None:
    dev = tmp_path / "dev"
    dev.write_text(oidc_issuer.mint(oidc_issuer.github(ref="refs/heads/dev")))
    result = trusting_cli("trust", "check", str(dev))
    assert result.code == 1
    assert "trust org-app: no match: claim ref=refs/heads/main does not match" in result.out
    assert result.err == "authsvc: error: no trust matches this ID token\n"
    rogue = tmp_path / "rogue"
    rogue.write_text(oidc_issuer.mint(oidc_issuer.github(), kid="rogue"))
    result = trusting_cli("trust", "check", str(rogue))
    assert (result.code, result.err) == (
        1,
        "authsvc: error: refused: the token's key is not in the issuer's JWKS\n",
    )
