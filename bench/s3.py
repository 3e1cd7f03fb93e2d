"""S3 storage throughput: which client library, and our registry on S3 against the filesystem.

``python -m bench.s3 [--size-mib 256] [--reps 3]`` starts moto's S3 server on loopback
(``moto[server]``, in memory) and measures, median of ``--reps``:

- each S3 client library alone, with the access pattern of our driver: a multipart upload in
  ``--part-mib`` parts with 4 in flight, and a streamed GET read in 1 MiB pieces. aiobotocore
  (the driver's client) and obstore (Rust's object_store) are both measured;
- ``registry serve`` over a temp directory, over S3 with ``storage.redirect.disable`` (bytes
  streamed through the registry) and over S3 with redirects (the client follows the 307 to a
  presigned URL): a monolithic upload (POST, PUT with the body) and a blob GET.

moto is a Python server and is the bound of every S3 figure here; the ratio between libraries
and the registry's overhead over the raw client are what carry over to a real S3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.content import Content
from bench.procs import free_port, spawn, stop, wait_http
from bench.regclient import download, upload_monolithic

MiB = 1 << 20
ACCESS_KEY = "bench-access-key"
SECRET_KEY = "bench-secret-key"
REGION = "us-east-1"
REGISTRY = str(Path(sys.executable).parent / "registry")


def moto_command(port: int) -> list[str]:
    """moto's standalone S3 server on loopback."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def moto_env() -> dict[str, str]:
    """moto's environment: fake credentials, no AWS_* settings (CA bundle, profile) of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    return env


def create_bucket(endpoint: str, name: str) -> None:
    """CreateBucket as a plain PUT (moto does not check signatures)."""
    request = urllib.request.Request(f"{endpoint}/{name}", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as resp:
        if resp.status != 200:
            raise RuntimeError(f"CreateBucket {name}: HTTP {resp.status}")


@contextlib.contextmanager
def moto_server(workdir: Path) -> Iterator[str]:
    """Start moto; yield its endpoint URL."""
    port = free_port()
    proc = spawn(moto_command(port), workdir / "moto.log", env=moto_env())
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, workdir / "moto.log", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _median_rate(size: int, seconds: list[float]) -> float:
    return size / statistics.median(seconds) / 1e6


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


def _parts(content: Content, size: int, nonce: bytes, part: int) -> Iterator[bytes]:
    """The blob in `part`-sized pieces (joined copies, as the driver's buffer hands them over)."""
    for start in range(0, size, part):
        yield b"".join(content.chunks(size, nonce, start, min(start + part, size)))


async def bench_aiobotocore(
    endpoint: str, bucket: str, content: Content, size: int, part: int, reps: int
) -> tuple[float, float]:
    """Upload and download MB/s of aiobotocore, multipart with 4 parts in flight."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(
        s3={"addressing_style": "path"},
        max_pool_connections=16,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    async with get_session().create_client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    ) as client:
        ups, downs = [], []
        for rep in range(reps):
            key = f"aiobotocore/{rep}"

            async def upload(key: str = key, rep: int = rep) -> None:
                upload = await client.create_multipart_upload(Bucket=bucket, Key=key)
                limit = asyncio.Semaphore(4)

                async def one(number: int, data: bytes) -> dict[str, Any]:
                    async with limit:
                        resp = await client.upload_part(
                            Bucket=bucket,
                            Key=key,
                            UploadId=upload["UploadId"],
                            PartNumber=number,
                            Body=data,
                        )
                    return {"PartNumber": number, "ETag": resp["ETag"]}

                tasks = [
                    asyncio.ensure_future(one(i + 1, data))
                    for i, data in enumerate(_parts(content, size, b"aio%d" % rep, part))
                ]
                parts = await asyncio.gather(*tasks)
                await client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload["UploadId"],
                    MultipartUpload={"Parts": parts},
                )

            async def fetch(key: str = key) -> None:
                resp = await client.get_object(Bucket=bucket, Key=key)
                async with resp["Body"] as body:
                    while await body.read(MiB):
                        pass

            ups.append(await _timed(upload))
            downs.append(await _timed(fetch))
            await client.delete_object(Bucket=bucket, Key=key)
    return _median_rate(size, ups), _median_rate(size, downs)


async def bench_obstore(
    endpoint: str, bucket: str, content: Content, size: int, part: int, reps: int
) -> tuple[float, float]:
    """Upload and download MB/s of obstore: put() streaming multipart, get() streamed."""
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    ups, downs = [], []
    for rep in range(reps):
        key = f"obstore/{rep}"

        async def body(rep: int = rep) -> AsyncIterator[bytes]:
            for data in _parts(content, size, b"obs%d" % rep, part):
                yield data

        async def upload(key: str = key, rep: int = rep) -> None:
            await obstore.put_async(
                store, key, body(rep), chunk_size=part, max_concurrency=4, use_multipart=True
            )

        async def fetch(key: str = key) -> None:
            resp = await obstore.get_async(store, key)
            async for _chunk in resp.stream(min_chunk_size=MiB):
                pass

        ups.append(await _timed(upload))
        downs.append(await _timed(fetch))
        await obstore.delete_async(store, key)
    return _median_rate(size, ups), _median_rate(size, downs)


@contextlib.contextmanager
def registry(workdir: Path, name: str, storage: dict[str, str]) -> Iterator[str]:
    """`registry serve` with the given storage variables, no auth, log level warn."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= storage | {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_LOG_LEVEL": "warn",
        "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
    }
    log = workdir / f"registry-{name}.log"
    proc = spawn([REGISTRY, "serve"], log, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def s3_storage(endpoint: str, bucket: str, part: int, *, redirect: bool) -> dict[str, str]:
    """REGISTRY_STORAGE_S3_* for a bucket on moto."""
    return {
        "REGISTRY_STORAGE_S3_REGION": REGION,
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": endpoint,
        "REGISTRY_STORAGE_S3_BUCKET": bucket,
        "REGISTRY_STORAGE_S3_ACCESSKEY": ACCESS_KEY,
        "REGISTRY_STORAGE_S3_SECRETKEY": SECRET_KEY,
        "REGISTRY_STORAGE_S3_SECURE": "false",
        "REGISTRY_STORAGE_S3_CHUNKSIZE": str(part),
        "REGISTRY_STORAGE_REDIRECT_DISABLE": str(not redirect).lower(),
    }


async def bench_registry(base: str, content: Content, size: int, reps: int) -> tuple[float, float]:
    """Monolithic upload and blob GET MB/s through one registry (GET follows redirects)."""
    ups, downs = [], []
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(reps):
            nonce = os.urandom(16)
            digest = content.digest(size, nonce)

            async def upload(nonce: bytes = nonce, digest: str = digest) -> None:
                await upload_monolithic(
                    session, base, "bench/s3", "", content.stream(size, nonce), size, digest
                )

            async def fetch(digest: str = digest) -> None:
                got = await download(session, base, "bench/s3", "", digest)
                if got != size:
                    raise RuntimeError(f"downloaded {got} bytes of {size}")

            ups.append(await _timed(upload))
            downs.append(await _timed(fetch))
    return _median_rate(size, ups), _median_rate(size, downs)


async def main_async(args: argparse.Namespace, workdir: Path) -> list[tuple[str, float, float]]:
    size, part = args.size_mib * MiB, args.part_mib * MiB
    content = Content()
    rows: list[tuple[str, float, float]] = []
    with moto_server(workdir) as endpoint:
        for bucket in ("raw", "registry", "redirect"):
            create_bucket(endpoint, bucket)
        rows.append(
            (
                "aiobotocore (raw)",
                *await bench_aiobotocore(endpoint, "raw", content, size, part, args.reps),
            )
        )
        rows.append(
            ("obstore (raw)", *await bench_obstore(endpoint, "raw", content, size, part, args.reps))
        )
        fs = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(workdir / "root")}
        with registry(workdir, "filesystem", fs) as base:
            rows.append(
                ("registry, filesystem", *await bench_registry(base, content, size, args.reps))
            )
        with registry(
            workdir, "s3", s3_storage(endpoint, "registry", part, redirect=False)
        ) as base:
            rows.append(
                ("registry, s3 (streamed)", *await bench_registry(base, content, size, args.reps))
            )
        with registry(
            workdir, "s3-redirect", s3_storage(endpoint, "redirect", part, redirect=True)
        ) as base:
            rows.append(
                ("registry, s3 (redirect)", *await bench_registry(base, content, size, args.reps))
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the S3 throughput comparison and print a table of medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.s3", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--part-mib", type=int, default=10, help="multipart part size (chunksize)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        rows = asyncio.run(main_async(args, Path(tmp)))
    print(f"{args.size_mib} MiB blobs, {args.part_mib} MiB parts, median of {args.reps}")
    print(f"{'':28} {'upload MB/s':>12} {'download MB/s':>14}")
    for name, up, down in rows:
        print(f"{name:28} {up:12.1f} {down:14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
