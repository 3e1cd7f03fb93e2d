"""The LDAP client against a real slapd: modes, TLS, escaping, refusals and outages."""

from __future__ import annotations

import dataclasses

import pytest

from authsvc.authn import ldap_client
from authsvc.authn.ldap import map_groups
from authsvc.authn.ldap_client import BindRefused, DirectoryUnavailable, authenticate
from authsvc.config import LdapConfig
from tests.authsvc.ldap.slapd import PASSWORDS, PEOPLE, Slapd

ALICE_DN = f"uid=alice,{PEOPLE}"
ALICE_GROUPS = frozenset({"developers", "Platform Admins"})


def test_filter_values_are_escaped_per_rfc4515() -> None:
    assert ldap_client.filter_for("(uid={username})", username="*)(uid=*") == (
        "(uid=\\2a\\29\\28uid=\\2a)"
    )
    assert ldap_client.filter_for("(member={dn})", dn="cn=a\\,b") == "(member=cn=a\\5c,b)"
    assert ldap_client.filter_for("(uid={username})", username="a\x00b") == "(uid=a\\00b)"


def test_dn_values_are_escaped_per_rfc4514() -> None:
    template = "uid={username},ou=people,dc=example,dc=org"
    assert ldap_client.dn_for(template, "a,b=c+d") == (
        "uid=a\\,b\\=c\\+d,ou=people,dc=example,dc=org"
    )
    assert ldap_client.dn_for(template, "#x ").startswith("uid=\\#x\\ ,")


def test_group_names_come_from_the_cn_of_the_dn() -> None:
    assert ldap_client.group_name_of("cn=Platform Admins,ou=groups,dc=x") == "Platform Admins"
    assert ldap_client.group_name_of("CN=Dev\\, Ops,OU=G,DC=x") == "Dev, Ops"
    assert ldap_client.group_name_of("ou=only,dc=x") == "only"
    assert ldap_client.group_name_of("not a dn") is None


def test_group_mapping_is_case_insensitive_and_drops_invalid_names() -> None:
    mapping = (("platform admins", "platform"),)
    assert map_groups(frozenset({"Platform Admins", "devs", "@root"}), mapping) == {
        "platform",
        "devs",
    }


def test_search_then_bind_with_member_of(search_settings: LdapConfig) -> None:
    entry = authenticate(search_settings, "alice", PASSWORDS["alice"])
    assert entry is not None
    assert (entry.dn, entry.groups) == (ALICE_DN, ALICE_GROUPS)
    bob = authenticate(search_settings, "bob", PASSWORDS["bob"])
    assert bob is not None and bob.groups == frozenset()


def test_direct_bind_over_start_tls_with_a_group_search(direct_settings: LdapConfig) -> None:
    entry = authenticate(direct_settings, "alice", PASSWORDS["alice"])
    assert entry is not None
    assert (entry.dn, entry.groups) == (ALICE_DN, ALICE_GROUPS)
    # Direct bind cannot tell an unknown user from a wrong password: both are refused.
    with pytest.raises(BindRefused):
        authenticate(direct_settings, "nobody", "x")


def test_ldaps_needs_the_ca(search_settings: LdapConfig, slapd: Slapd) -> None:
    ldaps = dataclasses.replace(search_settings, url=slapd.ldaps_url, ca_file=slapd.ca_file)
    entry = authenticate(ldaps, "dave", PASSWORDS["dave"])
    assert entry is not None and entry.groups == {"developers"}
    # Without the test CA the server's certificate is not trusted: no password is sent.
    with pytest.raises(DirectoryUnavailable):
        authenticate(dataclasses.replace(ldaps, ca_file=None), "dave", PASSWORDS["dave"])
    with pytest.raises(DirectoryUnavailable):
        start_tls = dataclasses.replace(search_settings, start_tls=True)
        authenticate(start_tls, "dave", PASSWORDS["dave"])


def test_wrong_password_locked_account_and_unknown_user(search_settings: LdapConfig) -> None:
    with pytest.raises(BindRefused):
        authenticate(search_settings, "alice", "wrong")
    # carol's password is right, but ppolicy's pwdAccountLockedTime locks her account.
    with pytest.raises(BindRefused):
        authenticate(search_settings, "carol", PASSWORDS["carol"])
    assert authenticate(search_settings, "nobody", "x") is None
    # An empty password would be an unauthenticated bind, which slapd accepts.
    with pytest.raises(BindRefused):
        authenticate(search_settings, "alice", "")


@pytest.mark.parametrize("name", ["*)(uid=*", "*", "ali*", "alice)(|(uid=*"])
def test_filter_injection_matches_nobody(search_settings: LdapConfig, name: str) -> None:
    assert authenticate(search_settings, name, PASSWORDS["alice"]) is None


def test_a_refused_service_account_is_an_outage(search_settings: LdapConfig) -> None:
    bad = dataclasses.replace(search_settings, bind_password="wrong")
    with pytest.raises(DirectoryUnavailable, match="Invalid credentials"):
        authenticate(bad, "alice", PASSWORDS["alice"])
