"""The ldap.* settings: parsing, defaults, cross-setting checks and secrecy."""

from __future__ import annotations

from pathlib import Path

import pytest

from authsvc.config import ConfigError, LdapConfig, load_config

SEARCH = {
    "AUTHSVC_AUTHENTICATORS": "local,ldap",
    "AUTHSVC_LDAP_URL": "ldaps://ldap.example.org",
    "AUTHSVC_LDAP_USER_BASE": "ou=people,dc=example,dc=org",
}


def test_environment_fills_the_ldap_section() -> None:
    config = load_config(
        None,
        {
            **SEARCH,
            "AUTHSVC_LDAP_CA_FILE": "/etc/ssl/ldap-ca.pem",
            "AUTHSVC_LDAP_BIND_DN": "cn=authsvc,dc=example,dc=org",
            "AUTHSVC_LDAP_BIND_PASSWORD": "s3cret",
            "AUTHSVC_LDAP_GROUP_ATTRIBUTE": "memberOf",
            "AUTHSVC_LDAP_GROUP_MAP": "Domain Admins=admins, developers=dev",
            "AUTHSVC_LDAP_CONNECT_TIMEOUT": "3s",
            "AUTHSVC_LDAP_TIMEOUT": "1m",
        },
    )
    assert config.auth.authenticators == ("local", "ldap")
    ldap = config.ldap
    assert ldap.ca_file == Path("/etc/ssl/ldap-ca.pem")
    assert ldap.user_filter == "(uid={username})" and ldap.group_filter == "(member={dn})"
    assert ldap.group_map == (("Domain Admins", "admins"), ("developers", "dev"))
    assert (ldap.connect_timeout, ldap.timeout) == (3, 60)
    assert "s3cret" not in repr(config)


def test_yaml_group_map_is_a_list(tmp_path: Path) -> None:
    path = tmp_path / "authsvc.yml"
    path.write_text(
        "auth: {authenticators: [ldap, local]}\n"
        "ldap:\n  url: ldap://dir:389\n  start_tls: true\n"
        "  user_dn_template: 'uid={username},ou=people,dc=x'\n"
        "  group_base: ou=groups,dc=x\n  group_map: ['ops=operators']\n"
    )
    config = load_config(path, {})
    assert config.auth.authenticators == ("ldap", "local")
    assert config.ldap == LdapConfig(
        url="ldap://dir:389",
        start_tls=True,
        user_dn_template="uid={username},ou=people,dc=x",
        group_base="ou=groups,dc=x",
        group_map=(("ops", "operators"),),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTHSVC_AUTHENTICATORS": "ldap"}, "ldap.url: required"),
        ({**SEARCH, "AUTHSVC_LDAP_USER_BASE": ""}, "ldap.user_base or ldap.user_dn_template"),
        ({**SEARCH, "AUTHSVC_LDAP_URL": "http://x"}, "AUTHSVC_LDAP_URL: expected an ldap://"),
        ({**SEARCH, "AUTHSVC_LDAP_START_TLS": "true"}, "ldap.start_tls: ldaps:// is TLS"),
        ({**SEARCH, "AUTHSVC_LDAP_USER_FILTER": "(uid=x)"}, "must contain {username}"),
        ({**SEARCH, "AUTHSVC_LDAP_USER_DN_TEMPLATE": "uid=x"}, "must contain {username}"),
        ({**SEARCH, "AUTHSVC_LDAP_GROUP_MAP": "admins"}, "expected DIRECTORY_GROUP=AUTHSVC"),
        ({**SEARCH, "AUTHSVC_LDAP_TIMEOUT": "0"}, "AUTHSVC_LDAP_TIMEOUT: must be at least 1"),
        (
            {**SEARCH, "AUTHSVC_LDAP_GROUP_BASE": "g", "AUTHSVC_LDAP_GROUP_ATTRIBUTE": "memberOf"},
            "choose one way to find groups",
        ),
    ],
)
def test_mistakes_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", "\\(").replace("{", "\\{")):
        load_config(None, env)


def test_ldap_settings_are_ignored_unless_ldap_is_chosen() -> None:
    assert load_config(None, {"AUTHSVC_LDAP_START_TLS": "true"}).ldap.start_tls
