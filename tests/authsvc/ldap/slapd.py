"""A throwaway OpenLDAP slapd for tests: cn=config from LDIF, TLS with a test CA, test users.

``Slapd.create(workdir)`` writes a CA and a server certificate, a cn=config (slapadd -n0) with
the mdb, memberof and ppolicy modules, starts slapd on two free loopback ports (``ldap://`` for
plain and StartTLS, ``ldaps://``), and loads ``DATA`` with ldapadd so that the memberof overlay
fills in ``memberOf`` (slapadd bypasses overlays). ``stop()`` and ``start()`` take the directory
down and bring it back on the same ports and data.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port, require_tool, wait_for_port
from tests.testca import write_server_pki

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=authsvc,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
# uid -> password; carol is locked by the password policy (pwdAccountLockedTime).
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}

CONFIG_LDIF = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd.pid
olcTLSCACertificateFile: {dir}/ca.pem
olcTLSCertificateFile: {dir}/server.pem
olcTLSCertificateKeyFile: {dir}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcDbDirectory: {dir}/data
olcDbMaxSize: 16777216
olcRootDN: {admin}
olcRootPW: {admin_pw}
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={{1}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{1}}ppolicy
olcPPolicyDefault: cn=default,ou=policies,{suffix}
"""


def _person(uid: str) -> str:
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
        f"sn: {uid.title()}\nuserPassword: {PASSWORDS[uid]}\n"
    )


def _group(cn: str, *members: str) -> str:
    lines = [f"dn: cn={cn},{GROUPS}", "objectClass: groupOfNames", f"cn: {cn}"]
    lines += [f"member: uid={m},{PEOPLE}" for m in members]
    return "\n".join(lines) + "\n"


DATA_LDIF = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Ex\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: ou=policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: policies\n",
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: authsvc\nsn: authsvc\n"
        f"userPassword: {SERVICE_PASSWORD}\n",
        f"dn: cn=default,ou=policies,{SUFFIX}\nobjectClass: device\nobjectClass: pwdPolicy\n"
        "cn: default\npwdAttribute: userPassword\npwdLockout: TRUE\n",
        *(_person(uid) for uid in PASSWORDS),
        _group("developers", "alice", "dave"),
        _group("Platform Admins", "alice"),
    ]
)

# ppolicy: an administrator locks an account for good with this time (slapo-ppolicy(5)).
LOCK_LDIF = f"""\
dn: uid=carol,{PEOPLE}
changetype: modify
replace: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
"""


@dataclass
class Slapd:
    """A running slapd with its ports, CA file and data directory."""

    workdir: Path
    port: int
    tls_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The plain (and StartTLS) URL."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        """The TLS-from-the-start URL."""
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        """The test CA that signed the server certificate."""
        return self.workdir / "ca.pem"

    @classmethod
    def create(cls, workdir: Path) -> Slapd:
        """Configure, start and load a fresh directory under ``workdir``."""
        slapadd = require_tool("slapadd")
        ldapadd = require_tool("ldapadd")
        write_server_pki(workdir, "authsvc LDAP")
        (workdir / "data").mkdir()
        confdir = workdir / "slapd.d"
        confdir.mkdir()
        ldif = workdir / "config.ldif"
        ldif.write_text(
            CONFIG_LDIF.format(dir=workdir, suffix=SUFFIX, admin=ADMIN_DN, admin_pw=ADMIN_PASSWORD)
        )
        subprocess.run(
            [slapadd, "-n0", "-F", str(confdir), "-l", str(ldif)], check=True, capture_output=True
        )
        server = cls(workdir, free_port(), free_port())
        server.start()
        for text in (DATA_LDIF, LOCK_LDIF):
            subprocess.run(
                [ldapadd, "-x", "-H", server.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
                input=text.encode(),
                check=True,
                capture_output=True,
            )
        return server

    def start(self) -> None:
        """Run slapd in the foreground of its process (``-d 0``) and wait for both ports."""
        slapd = require_tool("slapd")
        self.process = subprocess.Popen(
            [
                slapd,
                "-d",
                "0",
                "-F",
                str(self.workdir / "slapd.d"),
                "-h",
                f"{self.url}/ {self.ldaps_url}/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "slapd.log").open("ab"),
        )
        wait_for_port(self.port)
        wait_for_port(self.tls_port)

    def stop(self) -> None:
        """Stop slapd (SIGTERM, the clean shutdown) and wait until it is gone."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
            self.process = None
