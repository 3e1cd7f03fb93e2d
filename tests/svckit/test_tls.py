"""svckit.tls on a real socket: TLS 1.2 and 1.3, and a certificate reloaded in place."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509

from svckit.httpserver import GuardedAppRunner
from svckit.tls import reload, server_context
from tests.testca import write_server_pki


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve(context: ssl.SSLContext) -> tuple[GuardedAppRunner, int]:
    app = web.Application()
    app.router.add_get("/", ok)
    runner = GuardedAppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    return runner, runner.addresses[0][1]


async def served_certificate(port: int, ca: Path) -> x509.Certificate:
    client = ssl.create_default_context(cafile=str(ca))
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return x509.load_der_x509_certificate(der)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_tls_1_2_and_1_3_are_served(tmp_path: Path, version: ssl.TLSVersion) -> None:
    pki = write_server_pki(tmp_path, "tls")
    context = server_context(pki.cert, pki.key)
    # Nothing older is offered, whatever the OpenSSL build would allow (RFC 8996).
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    runner, port = await serve(context)
    try:
        client = ssl.create_default_context(cafile=str(pki.ca))
        client.minimum_version = client.maximum_version = version
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        assert writer.get_extra_info("ssl_object").version() == version.name.replace("_", ".")
        writer.close()
    finally:
        await runner.cleanup()


async def test_reload_serves_the_new_certificate_and_keeps_open_connections(
    tmp_path: Path,
) -> None:
    pki = write_server_pki(tmp_path / "one", "tls")
    context = server_context(pki.cert, pki.key)
    runner, port = await serve(context)
    try:
        before = await served_certificate(port, pki.ca)
        client = ssl.create_default_context(cafile=str(pki.ca))
        async with aiohttp.ClientSession() as http:
            url = f"https://127.0.0.1:{port}/"
            assert (await http.get(url, ssl=client)).status == 200  # keep-alive connection
            renewed = write_server_pki(tmp_path / "two", "renewed")
            assert reload(context, renewed.cert, renewed.key)
            assert (await http.get(url, ssl=client)).status == 200  # the same connection
        after = await served_certificate(port, renewed.ca)
        assert before.serial_number != after.serial_number
        # A broken pair keeps the certificate in use.
        assert not reload(context, tmp_path / "missing.pem", renewed.key)
        assert (await served_certificate(port, renewed.ca)).serial_number == after.serial_number
    finally:
        await runner.cleanup()
