"""The servers under test: authsvc (SQLite or PostgreSQL), our registry and Distribution 2.8.

Each runs on a loopback ephemeral port over a fresh directory inside the suite's temp dir, and
each `start_*` function registers its own stop on the caller's ExitStack, so an exception or a
Ctrl-C anywhere still stops every process and drops the PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import ssl
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from bench.procs import BenchError, free_port, run, spawn, stop, wait_http

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
SERVICE = "registry"
ISSUER = "bench-authsvc"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# /v2/ answers 401 with a Bearer challenge once a registry with token auth is up.
V2_READY = frozenset({200, 401})


@dataclass(frozen=True)
class Keys:
    """The ES256 signing key and self-signed certificate made by `authsvc keys generate`."""

    key: Path
    cert: Path
    kid: str


def generate_keys(out: Path) -> Keys:
    """Run `authsvc keys generate --alg ES256 --out DIR` (README "Keys") and return the paths."""
    kid = run([str(BIN / "authsvc"), "keys", "generate", "--alg", "ES256", "--out", str(out)])
    return Keys(out / "token.key", out / "token.crt", kid.strip())


@dataclass
class Authsvc:
    """A running `authsvc serve` and the environment its CLI needs."""

    label: str
    port: int
    env: dict[str, str]
    log: Path
    proc: Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        """The token endpoint a registry announces."""
        return f"{self.url}/auth"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def cli(self, *args: str, input: str | None = None) -> str:
        """Run the real `authsvc` console script against this instance's database."""
        return run([str(BIN / "authsvc"), *args], env=self.env, input=input)

    def add_users(self, users: Sequence[tuple[str, str]], parallel: int = 2) -> None:
        """`authsvc user add NAME --password-stdin` for each pair, a few at a time."""

        def add(pair: tuple[str, str]) -> None:
            self.cli("user", "add", pair[0], "--password-stdin", input=pair[1] + "\n")

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(add, users))

    def allow_all(self, name_pattern: str = "bench/*") -> None:
        """One ACL rule: every signed-in account gets every action on ``name_pattern``."""
        self.cli(
            "acl",
            "add",
            "--account",
            "*",
            "--name",
            name_pattern,
            "--type",
            "repository",
            "--actions",
            "pull,push,delete",
            "--comment",
            "benchmark",
        )


def authsvc_env(root: Path, keys: Keys, database_url: str) -> dict[str, str]:
    """The AUTHSVC_* settings (README "authsvc") of one instance; nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        AUTHSVC_LISTEN=f"127.0.0.1:{free_port()}",
        AUTHSVC_DATABASE_URL=database_url,
        AUTHSVC_SIGNING_KEY=str(keys.key),
        AUTHSVC_SIGNING_CERT=str(keys.cert),
        AUTHSVC_SERVICE=SERVICE,
        AUTHSVC_ISSUER=ISSUER,
        AUTHSVC_REALM="bench",
        # T4 keeps 16 logins with wrong passwords in flight so that none is answered from the
        # credential cache; login throttling would block them (and then every workload from
        # 127.0.0.1) within seconds, and the verify queue would shed the 17th. Throttled and
        # shed requests are tested in the suite; here the argon2 path is what is measured.
        AUTHSVC_THROTTLE_FREE_ATTEMPTS="0",
        AUTHSVC_VERIFY_QUEUE="64",
    )
    return env


def prepare_authsvc(
    label: str,
    root: Path,
    keys: Keys,
    database_url: str,
    extra: Mapping[str, str] | None = None,
) -> Authsvc:
    """Migrate a fresh database with `authsvc db upgrade`; the server is not started yet.

    ``extra`` holds further AUTHSVC_* settings (``--authsvc-env``), such as AUTHSVC_AUDIT=false
    to measure what the audit trail costs.
    """
    root.mkdir(parents=True, exist_ok=True)
    env = {**authsvc_env(root, keys, database_url), **(extra or {})}
    port = int(env["AUTHSVC_LISTEN"].rpartition(":")[2])
    svc = Authsvc(label, port, env, root / "authsvc.log")
    svc.cli("db", "upgrade")
    return svc


def start_authsvc(stack: ExitStack, svc: Authsvc) -> Authsvc:
    """Run `authsvc serve` until the stack unwinds; wait for /readyz."""
    svc.proc = spawn([str(BIN / "authsvc"), "serve"], svc.log, env=svc.env)
    stack.callback(stop, svc.proc)
    wait_http(f"{svc.url}/readyz", svc.proc, svc.log)
    return svc


def start_refauth(stack: ExitStack, root: Path, keys: Keys) -> Authsvc:
    """The reference token server (bench/refauth.py) with authsvc's key, kid and issuer.

    It is measured beside authsvc in T1 and T2, which then read as fractions of it.
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    svc = Authsvc("reference", port, {}, root / "refauth.log")
    args = [sys.executable, "-m", "bench.refauth", "--port", str(port), "--key", str(keys.key)]
    args += ["--cert", str(keys.cert), "--kid", keys.kid, "--issuer", ISSUER]
    svc.proc = spawn(args, svc.log, env={**os.environ, "PYTHONPATH": str(REPO)})
    stack.callback(stop, svc.proc)
    wait_http(f"{svc.url}/readyz", svc.proc, svc.log)
    return svc


@dataclass(frozen=True)
class ServerTls:
    """HTTPS for a registry: Distribution's ``http.tls`` keys (CONFIG.md), which both registries
    read, and the client context the readiness probe connects with."""

    certificate: Path
    key: Path
    probe: ssl.SSLContext  # trusts the server's CA; holds a client certificate for clientcas
    clientcas: tuple[Path, ...] = ()


@dataclass
class Registry:
    """A running registry behind authsvc's token auth: ours or Distribution."""

    label: str  # "ours" or "distribution"
    port: int
    storage: Path
    log: Path
    proc: Popen[bytes]
    scheme: str = "http"

    @property
    def url(self) -> str:
        """Base URL."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, as image references spell it."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def forget_blob(self, name: str, digest: str) -> None:
        """Delete a blob's data and the repository's link to it, between measurements.

        Both registries use Distribution's filesystem layout (registry/storage/paths.py), so this
        keeps the disk bounded when every measurement uploads fresh content; it is never done
        while timing.
        """
        alg, _, hexd = digest.partition(":")
        v2 = self.storage / "docker" / "registry" / "v2"
        shutil.rmtree(v2 / "blobs" / alg / hexd[:2] / hexd, ignore_errors=True)
        shutil.rmtree(v2 / "repositories" / name / "_layers" / alg / hexd, ignore_errors=True)


def ours_env(port: int, storage: Path, *, realm: str, issuer: str, bundle: Path) -> dict[str, str]:
    """`registry serve` configured only through Distribution's REGISTRY_* variables (CONFIG.md).

    Nothing REGISTRY_* is inherited from the caller, so a developer's own settings cannot leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}",
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(storage),
        REGISTRY_STORAGE_DELETE_ENABLED="true",
        REGISTRY_AUTH_TOKEN_REALM=realm,
        REGISTRY_AUTH_TOKEN_SERVICE=SERVICE,
        REGISTRY_AUTH_TOKEN_ISSUER=issuer,
        REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=str(bundle),
    )
    return env


def start_ours(
    stack: ExitStack,
    root: Path,
    *,
    realm: str,
    bundle: Path,
    issuer: str = ISSUER,
    quiet: bool = True,
    tls: ServerTls | None = None,
    debug: bool = False,
) -> Registry:
    """Run `registry serve` until the stack unwinds; ``quiet`` drops the access log and info;
    ``tls`` serves HTTPS; ``debug`` logs everything (the interop suite's no-secret check)."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = ours_env(port, root / "storage", realm=realm, issuer=issuer, bundle=bundle)
    if quiet:
        # As quiet as Distribution is configured below: an access log line per request is work.
        env.update(REGISTRY_LOG_LEVEL="warn", REGISTRY_LOG_ACCESSLOG_DISABLED="true")
    if debug:
        env["REGISTRY_LOG_LEVEL"] = "debug"
    if tls is not None:
        env.update(
            REGISTRY_HTTP_TLS_CERTIFICATE=str(tls.certificate),
            REGISTRY_HTTP_TLS_KEY=str(tls.key),
        )
        if tls.clientcas:
            env["REGISTRY_HTTP_TLS_CLIENTCAS"] = ",".join(map(str, tls.clientcas))
    args = [str(BIN / "registry"), "serve"]
    return _serve_registry(stack, "ours", args, env, root, port, tls)


def distribution_config(
    port: int,
    storage: Path,
    *,
    realm: str,
    bundle: Path,
    issuer: str,
    quiet: bool,
    tls: ServerTls | None = None,
) -> str:
    """A config.yml for Distribution 2.8: token auth, filesystem storage with delete enabled.

    Debian's packaged default config silently uses htpasswd, even with REGISTRY_AUTH_TOKEN_*
    set, so the whole file is written here. The in-memory blob descriptor cache is what
    Distribution's own sample config enables.
    """
    http_tls = ""
    if tls is not None:
        http_tls = f"  tls:\n    certificate: {tls.certificate}\n    key: {tls.key}\n"
        if tls.clientcas:
            http_tls += "    clientcas:\n" + "".join(f"      - {ca}\n" for ca in tls.clientcas)
    return (
        "version: 0.1\n"
        f"log:\n  level: {'warn' if quiet else 'info'}\n  accesslog:\n    disabled: true\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {storage}\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n{http_tls}"
        "auth:\n  token:\n"
        f"    realm: {realm}\n    service: {SERVICE}\n    issuer: {issuer}\n"
        f"    rootcertbundle: {bundle}\n"
    )


def start_distribution(
    stack: ExitStack,
    binary: str,
    root: Path,
    *,
    realm: str,
    bundle: Path,
    issuer: str = ISSUER,
    quiet: bool = True,
    tls: ServerTls | None = None,
) -> Registry:
    """`docker-registry serve config.yml` until the stack unwinds, configured like ours."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        distribution_config(
            port,
            root / "storage",
            realm=realm,
            bundle=bundle,
            issuer=issuer,
            quiet=quiet,
            tls=tls,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    args = [binary, "serve", str(config)]
    return _serve_registry(stack, "distribution", args, env, root, port, tls)


def _serve_registry(
    stack: ExitStack,
    label: str,
    args: list[str],
    env: dict[str, str],
    root: Path,
    port: int,
    tls: ServerTls | None = None,
) -> Registry:
    """Start a registry process, stop it when the stack unwinds, and wait until /v2/ answers."""
    log = root / f"{label}.log"
    proc = spawn(args, log, env=env)
    stack.callback(stop, proc)
    scheme = "http" if tls is None else "https"
    probe = None if tls is None else tls.probe
    wait_http(f"{scheme}://127.0.0.1:{port}/v2/", proc, log, ok=V2_READY, context=probe)
    return Registry(label, port, root / "storage", log, proc, scheme)


async def _pg_execute(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """CREATE DATABASE bench_<random> for one run; DROP it (WITH FORCE) afterwards."""
    name = f"bench_{secrets.token_hex(6)}"
    asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        parts = urllib.parse.urlsplit(admin_url)
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        asyncio.run(_pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def basic(user: str, password: str) -> str:
    """An `Authorization: Basic` value (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def fetch_token(
    authsvc: Authsvc,
    user: str,
    password: str,
    scopes: Sequence[str],
    *,
    offline: bool = False,
) -> dict[str, object]:
    """GET /auth with Basic credentials (the Docker token flow); return the JSON body."""
    query: list[tuple[str, str]] = [("service", SERVICE)] + [("scope", s) for s in scopes]
    if offline:
        query += [("offline_token", "true"), ("client_id", "bench")]
    req = urllib.request.Request(
        f"{authsvc.realm}?{urllib.parse.urlencode(query)}",
        headers={"Authorization": basic(user, password)},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = json.loads(resp.read())
    except OSError as exc:
        raise BenchError(f"token request to {authsvc.label} authsvc failed: {exc}") from None
    if not isinstance(body, dict):
        raise BenchError("token response is not a JSON object")
    return body


def bearer(authsvc: Authsvc, user: str, password: str, scopes: Sequence[str]) -> str:
    """A fresh access token for ``scopes``, as an Authorization header value."""
    body = fetch_token(authsvc, user, password, scopes)
    token = body.get("token") or body.get("access_token")
    if not isinstance(token, str):
        raise BenchError("token response carries no token")
    return f"Bearer {token}"


def refresh_token(authsvc: Authsvc, user: str, password: str, scopes: Sequence[str]) -> str:
    """A refresh token from GET /auth?offline_token=true&client_id=bench (README)."""
    body = fetch_token(authsvc, user, password, scopes, offline=True)
    token = body.get("refresh_token")
    if not isinstance(token, str):
        raise BenchError("GET /auth?offline_token=true returned no refresh_token")
    return token
