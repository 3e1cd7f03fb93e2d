"""S3-only driver behaviour on moto: Distribution's key layout, resuming and rebasing uploads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from registry.storage.driver import PathNotFoundError
from registry.storage.s3 import MIN_CHUNK_SIZE, S3Driver, S3Settings

MIB = 1 << 20


@pytest.fixture
async def driver(s3_settings: S3Settings) -> AsyncIterator[S3Driver]:
    drv = S3Driver(s3_settings)
    yield drv
    await drv.aclose()


async def fresh(settings: S3Settings) -> S3Driver:
    """Another driver on the same bucket: what a restarted process would open."""
    return S3Driver(settings)


async def test_keys_are_rootdirectory_plus_path(driver: S3Driver, s3_settings: S3Settings) -> None:
    await driver.put_content("/docker/registry/v2/x/link", b"1")
    assert s3_settings.rootdirectory == "/registry-root"
    bare = S3Driver(replace(s3_settings, rootdirectory=""))
    try:
        assert await bare.list("/") == ["/registry-root"]
        entries = [e.path for e in await bare.walk("/registry-root")]
        assert entries[-1] == "/registry-root/docker/registry/v2/x/link"
    finally:
        await bare.aclose()


async def test_upload_resumes_in_another_process_across_small_parts(
    driver: S3Driver, s3_settings: S3Settings
) -> None:
    data = os.urandom(3 * MIB + 4 * MIB + 1 + 6 * MIB)
    pieces = [data[: 3 * MIB], data[3 * MIB : 7 * MIB], data[7 * MIB : 7 * MIB + 1]]
    writer = await driver.writer("/up/data")
    await writer.write(pieces[0])
    await writer.close()  # a last part of 3 MiB stays in the open multipart upload
    offset = len(pieces[0])
    for piece in pieces[1:]:
        other = await fresh(s3_settings)
        try:
            writer = await other.writer("/up/data", append=True)
            assert writer.size == offset
            # Appending after a part under 5 MiB rebases the upload (read back, or copied).
            await writer.write(piece)
            await writer.close()
            offset += len(piece)
        finally:
            await other.aclose()
    writer = await driver.writer("/up/data", append=True)
    assert writer.size == offset
    await writer.write(data[offset:])
    await writer.commit()
    await writer.close()
    assert await driver.get_content("/up/data") == data


async def test_truncate_drops_uploaded_parts(driver: S3Driver, s3_settings: S3Settings) -> None:
    head = os.urandom(6 * MIB)
    writer = await driver.writer("/t/data")
    await writer.write(head)  # a whole part: uploaded
    await writer.write(b"tail that fails")
    await writer.truncate(2 * MIB)
    assert writer.size == 2 * MIB
    await writer.close()
    other = await fresh(s3_settings)
    try:
        writer = await other.writer("/t/data", append=True)
        assert writer.size == 2 * MIB
        await writer.write(b"!")
        await writer.commit()
        await writer.close()
    finally:
        await other.aclose()
    assert await driver.get_content("/t/data") == head[: 2 * MIB] + b"!"


async def test_parts_are_chunksize(driver: S3Driver) -> None:
    assert driver.settings.chunksize == MIN_CHUNK_SIZE
    data = os.urandom(12 * MIB + 5)
    writer = await driver.writer("/p/data")
    for i in range(0, len(data), MIB // 2):
        await writer.write_many([data[i : i + MIB // 2]])
    await writer.commit()
    await writer.close()
    reader = await driver.reader("/p/data", 5 * MIB)
    got = []
    while chunk := await reader.read(MIB):
        got.append(chunk)
    await reader.close()
    assert b"".join(got) == data[5 * MIB :]


async def test_delete_aborts_uploads_in_progress(driver: S3Driver) -> None:
    await driver.put_content("/u/id/startedat", b"x")
    writer = await driver.writer("/u/id/data")
    await writer.write(b"half")
    await writer.close()
    await driver.delete("/u/id")
    with pytest.raises(PathNotFoundError):
        await driver.stat("/u/id")
    writer = await driver.writer("/u/id/data", append=True)
    assert writer.size == 0
    await writer.cancel()


async def test_presigned_url_serves_the_object(driver: S3Driver) -> None:
    await driver.put_content("/blob/data", b"signed bytes")
    url = await driver.url_for("/blob/data")
    assert url is not None and "Signature" in url
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert await resp.read() == b"signed bytes"
