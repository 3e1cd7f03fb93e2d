"""Both services over HTTPS with real clients, certificates from a CA the test makes.

One authsvc serves HTTPS (AUTHSVC_TLS_*) and is the realm of every registry here: ours and
Debian's Distribution 2.8 with ``http.tls``, and ours with ``http.tls.clientcas`` (mutual TLS).
Clients verify certificates throughout (``--tls-verify=true``), and each test first shows that
they do, with a refusal where the CA is not given. They trust the test CA the way their users
would: a certs.d directory (``--cert-dir``) for skopeo and podman, which also carries skopeo's
client certificate (``client.cert``/``client.key``) for mutual TLS, and
/etc/docker/certs.d/NAME:PORT/ca.crt for dockerd. Then SIGHUP renews both services' certificates
under load. The peers are started once per module; the whole module takes about 20 s.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from bench.ociimage import OciImage
from bench.services import Registry, ServerTls
from tests.interop.authsvc_stack import (
    Authsvc,
    build_oci_image,
    prepare_authsvc,
    run,
    run_dockerd,
    serve_authsvc,
    serve_distribution,
    serve_ours,
)
from tests.interop.clients import (
    PASSWORDS,
    creds,
    podman_runroot,
    refused,
    require_root,
    run_podman,
    skopeo_env,
)
from tests.interop.connect_proxy import connect_proxy
from tests.support import require_tool, wait_until
from tests.testca import Leaf, TestCa

pytestmark = pytest.mark.interop

DOCKER_CERTS_D = Path("/etc/docker/certs.d")
# The name dockerd knows the registries by (connect_proxy.py says why it cannot be 127.0.0.1).
DOCKER_NAME = "registry.invalid"


@dataclass(frozen=True)
class Pki:
    """The test CAs, the server certificate every peer uses, and certs.d directories."""

    ca: TestCa  # signs the servers' certificates
    server: Leaf  # the registries'
    authsvc: Leaf  # its own files: the SIGHUP test renews them in place (same CA, same names)
    client_ca: TestCa  # the only CA the mutual-TLS registry accepts client certificates from
    trust: Path  # certs.d directory with ca.crt only
    client: Path  # ca.crt plus client.cert/client.key from client_ca
    stranger: Path  # ca.crt plus a client certificate from ``ca``, not a client CA

    def context(self, *, client: bool = False) -> ssl.SSLContext:
        """A Python client context trusting ``ca``; with ``client``, holding the client cert."""
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        if client:
            context.load_cert_chain(self.client / "client.cert", self.client / "client.key")
        return context

    def server_tls(self, *, mutual: bool = False) -> ServerTls:
        """Distribution's http.tls settings for a registry, clientcas set when ``mutual``."""
        return ServerTls(
            self.server.cert,
            self.server.key,
            probe=self.context(client=mutual),
            clientcas=(self.client_ca.cert,) if mutual else (),
        )


def certs_d(directory: Path, ca: Path, client: TestCa | None = None) -> Path:
    """A containers-certs.d(5) directory: ``*.crt`` are CAs, ``*.cert``/``*.key`` a client pair."""
    directory.mkdir(parents=True)
    shutil.copyfile(ca, directory / "ca.crt")
    if client is not None:
        client.issue(directory / "client.cert", directory / "client.key", client="skopeo")
    return directory


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Fresh CAs and leaves for this module; nothing is committed or installed system-wide."""
    tmp = tmp_path_factory.mktemp("tls-pki")
    ca = TestCa(tmp / "ca.pem", "interop")
    client_ca = TestCa(tmp / "client-ca.pem", "interop clients")
    return Pki(
        ca=ca,
        server=ca.issue(tmp / "server.pem", tmp / "server.key", names=[DOCKER_NAME]),
        authsvc=ca.issue(tmp / "authsvc.pem", tmp / "authsvc.key"),
        client_ca=client_ca,
        trust=certs_d(tmp / "trust", ca.cert),
        client=certs_d(tmp / "client", ca.cert, client_ca),
        stranger=certs_d(tmp / "stranger", ca.cert, ca),
    )


@pytest.fixture(scope="module")
def authsvc(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authsvc]:
    """authsvc over HTTPS only, with the users and rules the client tests expect."""
    svc = prepare_authsvc(tmp_path_factory.mktemp("tls-authsvc"), "ES256")
    svc.use_tls(pki.authsvc.cert, pki.authsvc.key, pki.ca.cert)
    svc.add_users({name: PASSWORDS[name] for name in ("alice", "reader")})
    svc.add_rules(
        [
            ("alice", "team/*", "pull,push", "repository"),
            ("reader", "team/*", "pull", "repository"),
        ]
    )
    with serve_authsvc(svc):
        yield svc


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> OciImage:
    """The one-layer image every test pushes."""
    return build_oci_image(tmp_path_factory.mktemp("tls-image") / "layout", text="over tls")


@pytest.fixture(scope="module")
def ours(
    pki: Pki, authsvc: Authsvc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """Our registry over HTTPS, its realm authsvc over HTTPS."""
    root = tmp_path_factory.mktemp("tls-ours")
    with serve_ours(root, realm=authsvc.realm, bundle=authsvc.cert, tls=pki.server_tls()) as reg:
        yield reg


@pytest.fixture(scope="module")
def distribution(
    pki: Pki, authsvc: Authsvc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """Distribution 2.8 over HTTPS; its rootcertbundle is authsvc's token certificate."""
    binary = require_tool("docker-registry")
    root = tmp_path_factory.mktemp("tls-distribution")
    with serve_distribution(
        binary, root, realm=authsvc.realm, bundle=authsvc.cert, tls=pki.server_tls()
    ) as reg:
        yield reg


@pytest.fixture(params=["ours", "distribution"])
def registry(request: pytest.FixtureRequest) -> Registry:
    """Each HTTPS registry in turn (both started once per module)."""
    reg = request.getfixturevalue(request.param)
    assert isinstance(reg, Registry)
    return reg


def skopeo(
    tmp: Path, *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """skopeo with its containers/image state under ``tmp``."""
    return run([require_tool("skopeo"), *args], env=skopeo_env(tmp), input=input, check=check)


def skopeo_failure(tmp: Path, *args: str) -> str:
    """Run skopeo expecting it to fail; return its combined output."""
    result = skopeo(tmp, *args, check=False)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def test_authsvc_serves_https_only(authsvc: Authsvc) -> None:
    with urllib.request.urlopen(f"{authsvc.url}/readyz", context=authsvc.client_context) as r:
        assert r.status == 200
    # Plain HTTP to the HTTPS port gets no HTTP answer at all.
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{authsvc.port}/readyz", timeout=5)
    assert "starting authsvc on https://" in authsvc.log_text()


def test_skopeo_over_https(registry: Registry, pki: Pki, image: OciImage, tmp_path: Path) -> None:
    host, trust = registry.host, str(pki.trust)
    ref = f"docker://{host}/team/skopeo:v1"
    # Certificates are really verified: without the test CA the registry is not trusted.
    out = skopeo_failure(tmp_path, "inspect", "--creds", creds("alice"), ref)
    assert "certificate signed by unknown authority" in out, out

    authfile = str(tmp_path / "alice.json")
    login = ["login", "--tls-verify=true", "--cert-dir", trust, "--authfile", authfile]
    skopeo(tmp_path, *login, "-u", "alice", "--password-stdin", host, input=PASSWORDS["alice"])
    skopeo(
        tmp_path, "copy", "--quiet", "--dest-tls-verify=true", "--dest-cert-dir", trust,
        "--authfile", authfile, image.ref, ref,
    )  # fmt: skip
    inspect = skopeo(
        tmp_path, "inspect", "--tls-verify=true", "--cert-dir", trust,
        "--creds", creds("reader"), ref,
    )  # fmt: skip
    assert json.loads(inspect.stdout)["Layers"] == list(image.layer_digests)
    pulled = tmp_path / "pulled"
    skopeo(
        tmp_path, "copy", "--quiet", "--src-tls-verify=true", "--src-cert-dir", trust,
        "--src-creds", creds("reader"), ref, f"dir:{pulled}",
    )  # fmt: skip
    manifest = json.loads((pulled / "manifest.json").read_text())
    assert [layer["digest"] for layer in manifest["layers"]] == list(image.layer_digests)
    # The read-only user may pull but not push.
    out = skopeo_failure(
        tmp_path, "copy", "--dest-tls-verify=true", "--dest-cert-dir", trust,
        "--dest-creds", creds("reader"), image.ref, f"docker://{host}/team/skopeo:reader",
    )  # fmt: skip
    assert refused(out), out


def test_podman_over_https(ours: Registry, pki: Pki, image: OciImage, tmp_path: Path) -> None:
    host, trust = ours.host, str(pki.trust)
    tls = ["--tls-verify=true", "--cert-dir", trust]
    with podman_runroot() as runroot:

        def podman(*args: str, input: str | None = None, check: bool = True) -> tuple[int, str]:
            return run_podman(tmp_path / "podman", runroot, *args, input=input, check=check)

        login = ["login", *tls, "--password-stdin", "-u"]
        # podman verifies too: without the test CA the registry is not trusted.
        code, out = podman(
            "login", "--tls-verify=true", "--password-stdin", "-u", "alice", host,
            input=PASSWORDS["alice"] + "\n", check=False,
        )  # fmt: skip
        assert code != 0
        assert "certificate signed by unknown authority" in out, out
        podman(*login, "alice", host, input=PASSWORDS["alice"] + "\n")
        pushed = f"{host}/team/podman:v1"
        # The image comes from the OCI layout into podman's storage, then goes out by its id.
        _, image_id = podman("pull", "-q", image.ref)
        podman("push", "-q", *tls, image_id.strip(), pushed)
        podman("rmi", "--all", "--force")
        podman("pull", "-q", *tls, pushed)
        _, out = podman("image", "inspect", pushed)
        assert json.loads(out)[0]["Id"] == image_id.strip()
        podman(*login, "reader", host, input=PASSWORDS["reader"] + "\n")
        code, out = podman("push", *tls, pushed, f"{host}/team/podman:reader", check=False)
        assert code != 0
        assert refused(out), out


def test_realm_over_https_for_a_plain_http_registry(
    authsvc: Authsvc, pki: Pki, image: OciImage, tmp_path: Path
) -> None:
    """The realm's TLS stands on its own: a registry without TLS may announce an https realm,
    and the clients then trust the CA through SSL_CERT_FILE, as Go's crypto/x509 reads it."""
    skopeo_bin, docker = require_tool("skopeo"), require_tool("docker")
    env = skopeo_env(tmp_path)
    env["SSL_CERT_FILE"] = str(pki.ca.cert)
    with serve_ours(tmp_path / "reg", realm=authsvc.realm, bundle=authsvc.cert) as reg:
        ref = f"docker://{reg.host}/team/plain:v1"
        run([skopeo_bin, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
             creds("alice"), image.ref, ref], env=env)  # fmt: skip
        run([skopeo_bin, "copy", "--quiet", "--src-tls-verify=false", "--src-creds",
             creds("reader"), ref, f"dir:{tmp_path / 'pulled'}"], env=env)  # fmt: skip
        # With no reachable daemon the CLI logs in by itself (docker/cli loginClientSide).
        env.update(DOCKER_CONFIG=str(tmp_path / "docker"), DOCKER_HOST=f"unix://{tmp_path}/no.sock")
        login = run([docker, "login", "-u", "alice", "--password-stdin", reg.host],
                    env=env, input=PASSWORDS["alice"] + "\n")  # fmt: skip
        assert "Login Succeeded" in login.stdout + login.stderr


@pytest.fixture
def docker_trusts_ours(ours: Registry, pki: Pki) -> Iterator[str]:
    """The test CA as /etc/docker/certs.d/NAME:PORT/ca.crt, removed afterwards; yields NAME:PORT.

    dockerd and the docker CLI read a registry's CA only from there (or the system pool); no
    flag moves the directory for root. The port is this run's own, so nothing else is touched.
    """
    require_root()
    name = f"{DOCKER_NAME}:{ours.port}"
    directory = DOCKER_CERTS_D / name
    directory.mkdir(parents=True)
    try:
        shutil.copyfile(pki.ca.cert, directory / "ca.crt")
        yield name
    finally:
        shutil.rmtree(directory)


def test_docker_over_https(
    ours: Registry,
    distribution: Registry,
    pki: Pki,
    image: OciImage,
    tmp_path: Path,
    docker_trusts_ours: str,
) -> None:
    docker, dockerd = require_tool("docker"), require_tool("dockerd")
    name = docker_trusts_ours
    skopeo(
        tmp_path, "copy", "--quiet", "--dest-cert-dir", str(pki.trust),
        "--dest-creds", creds("alice"), image.ref, f"docker://{ours.host}/team/docker:v1",
    )  # fmt: skip

    def docker_as(user: str, host: str) -> dict[str, str]:
        env = skopeo_env(tmp_path)
        env.update(DOCKER_CONFIG=str(tmp_path / f"docker-{user}"), DOCKER_HOST=host)
        run([docker, "login", "-u", user, "--password-stdin", name],
            env=env, input=PASSWORDS[user] + "\n")  # fmt: skip
        return env

    with (
        connect_proxy() as proxy,
        run_dockerd(dockerd, None, tmp_path / "dockerd", https_proxy=proxy) as host,
    ):
        # Distribution has no certs.d entry here, so dockerd does not trust its certificate
        # (which names DOCKER_NAME too): verification is on.
        env = {**skopeo_env(tmp_path), "DOCKER_HOST": host}
        untrusted = f"{DOCKER_NAME}:{distribution.port}/team/docker:v1"
        result = run([docker, "pull", untrusted], env=env, check=False)
        assert result.returncode != 0
        assert "certificate signed by unknown authority" in result.stderr, result.stderr
        # The token realm (https://127.0.0.1:PORT) is verified with the same CA: dockerd
        # uses the registry's TLS settings for it.
        alice = docker_as("alice", host)
        pushed = f"{name}/team/docker:v1"
        run([docker, "pull", "-q", pushed], env=alice)
        again = f"{name}/team/docker:v2"
        run([docker, "tag", pushed, again], env=alice)
        run([docker, "push", "-q", again], env=alice)
        reader = docker_as("reader", host)
        denied = f"{name}/team/docker:reader"
        run([docker, "tag", pushed, denied], env=reader)
        result = run([docker, "push", denied], env=reader, check=False)
        assert result.returncode != 0
        assert refused(result.stdout + result.stderr), result.stderr
    inspect = skopeo(
        tmp_path, "inspect", "--cert-dir", str(pki.trust), "--creds", creds("reader"),
        f"docker://{ours.host}/team/docker:v2",
    )  # fmt: skip
    assert json.loads(inspect.stdout)["Layers"] == list(image.layer_digests)


@pytest.fixture(scope="module", params=["ours", "distribution"])
def mutual(
    request: pytest.FixtureRequest,
    pki: Pki,
    authsvc: Authsvc,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Registry]:
    """A registry asking for client certificates from the client CA (http.tls.clientcas);
    Distribution shows what ours should match."""
    root = tmp_path_factory.mktemp(f"tls-mutual-{request.param}")
    tls = pki.server_tls(mutual=True)
    realm, bundle = authsvc.realm, authsvc.cert
    with (
        serve_ours(root, realm=realm, bundle=bundle, tls=tls)
        if request.param == "ours"
        else serve_distribution(
            require_tool("docker-registry"), root, realm=realm, bundle=bundle, tls=tls
        )
    ) as reg:
        yield reg


def first_bytes(port: int, context: ssl.SSLContext) -> bytes:
    """What the server answers to ``GET /v2/`` over TLS: b"" if it hangs up instead."""
    request = b"GET /v2/ HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n"
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(request)
            return tls.recv(12)
    except (ssl.SSLError, ConnectionError):
        return b""


def test_mutual_tls(mutual: Registry, pki: Pki, image: OciImage, tmp_path: Path) -> None:
    ref = f"docker://{mutual.host}/team/mutual:v1"
    inspect = ["inspect", "--tls-verify=true", "--creds", creds("alice")]
    # No client certificate, or one the client CA did not sign: the connection ends in the
    # handshake, before any HTTP. (From ours the client sees EOF or a reset where Distribution
    # sends a TLS alert: asyncio drops the alert OpenSSL writes, CPython gh-98078.)
    for certs in (pki.trust, pki.stranger):
        out = skopeo_failure(tmp_path, *inspect, "--cert-dir", str(certs), ref)
        assert f"pinging container registry {mutual.host}: Get" in out, out
    stranger = ssl.create_default_context(cafile=str(pki.ca.cert))
    stranger.load_cert_chain(pki.stranger / "client.cert", pki.stranger / "client.key")
    assert first_bytes(mutual.port, pki.context()) == b""
    assert first_bytes(mutual.port, stranger) == b""
    assert first_bytes(mutual.port, pki.context(client=True)) == b"HTTP/1.1 401"
    client = str(pki.client)
    skopeo(
        tmp_path, "copy", "--quiet", "--dest-cert-dir", client, "--dest-creds", creds("alice"),
        image.ref, ref,
    )  # fmt: skip
    result = skopeo(tmp_path, *inspect, "--cert-dir", client, ref)
    assert json.loads(result.stdout)["Layers"] == list(image.layer_digests)


def served_serial(port: int, context: ssl.SSLContext) -> int:
    """The serial number of the certificate a new handshake with the server presents."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def renew(ca: TestCa, cert: Path, key: Path) -> int:
    """Replace a certificate and key as a renewal job would: each file atomically, in place."""
    leaf = ca.issue(cert.with_suffix(".new-cert"), key.with_suffix(".new-key"))
    os.replace(leaf.key, key)
    os.replace(leaf.cert, cert)
    return leaf.serial


class KeptConnection:
    """One HTTPS connection that stays open, used for a request before and after a reload."""

    def __init__(self, port: int, context: ssl.SSLContext, path: str) -> None:
        """Connect and send the first request."""
        self.path = path
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        self.status = self.get()
        self.sock = self.conn.sock

    def get(self) -> int:
        """GET the path on this connection (http.client reconnects only after a close)."""
        self.conn.request("GET", self.path)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def serial(self) -> int:
        """The serial of the certificate this connection's handshake saw."""
        assert isinstance(self.conn.sock, ssl.SSLSocket)
        der = self.conn.sock.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der).serial_number


def test_sighup_renews_certificates_without_failing_a_request(
    authsvc: Authsvc, pki: Pki, image: OciImage, tmp_path: Path
) -> None:
    """Both services: new files in place, SIGHUP, and the next handshakes present the new
    certificate while open connections and a client pulling in a loop carry on."""
    cert, key = tmp_path / "registry.pem", tmp_path / "registry.key"
    pki.ca.issue(cert, key)
    tls = ServerTls(cert, key, probe=pki.context())
    with serve_ours(tmp_path / "reg", realm=authsvc.realm, bundle=authsvc.cert, tls=tls) as reg:
        ref = f"docker://{reg.host}/team/renewed:v1"
        skopeo(
            tmp_path, "copy", "--quiet", "--dest-cert-dir", str(pki.trust),
            "--dest-creds", creds("alice"), image.ref, ref,
        )  # fmt: skip
        assert authsvc.proc is not None
        servers = [
            (reg.port, reg.proc.pid, cert, key, "/v2/"),
            (authsvc.port, authsvc.proc.pid, pki.authsvc.cert, pki.authsvc.key, "/healthz"),
        ]
        kept = [KeptConnection(port, pki.context(), path) for port, _, _, _, path in servers]
        before = [served_serial(port, pki.context()) for port, *_ in servers]
        assert [conn.status for conn in kept] == [401, 200]

        # Every pull makes new handshakes with both: the token from authsvc, then the registry.
        results: list[subprocess.CompletedProcess[str]] = []
        stop = threading.Event()

        inspect = ["inspect", "--cert-dir", str(pki.trust), "--creds", creds("reader"), ref]

        def pull_loop() -> None:
            while not stop.is_set():
                results.append(skopeo(tmp_path, *inspect, check=False))

        puller = threading.Thread(target=pull_loop)
        puller.start()
        try:
            wait_until(lambda: len(results) >= 2, "pulls before the renewal")
            renewed = [renew(pki.ca, cert, key) for _, _, cert, key, _ in servers]
            for _, pid, *_ in servers:
                os.kill(pid, signal.SIGHUP)
            wait_until(
                lambda: [served_serial(port, pki.context()) for port, *_ in servers] == renewed,
                "handshakes with the renewed certificates",
            )
            renewed_at = len(results)
            wait_until(lambda: len(results) >= renewed_at + 2, "pulls after the renewal")
        finally:
            stop.set()
            puller.join()
        failures = [r.stderr for r in results if r.returncode != 0]
        assert failures == [], failures
        assert len(results) >= 4
        for conn, serial, (_, _, _, _, path) in zip(kept, before, servers, strict=True):
            # The connection made before the reload is still the same one, with its session.
            assert conn.get() == conn.status, path
            assert conn.conn.sock is conn.sock, path
            assert conn.serial() == serial, path
        assert "TLS certificate reloaded" in reg.log.read_text()
        assert "TLS certificate reloaded" in authsvc.log_text()
