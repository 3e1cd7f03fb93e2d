"""``make soak``: minutes of mixed load on authsvc and the registry; errors and memory at the end.

Eight clients loop, each doing a random mix of what registry users do: Basic logins (GET
/auth), refresh grants (POST /auth), pushes of fresh content (blob upload and a tagged
manifest), pulls of what was pushed (manifest and blob), and deletes of manifests. Every
response must be the one expected; anything else counts as an error and is printed. The RSS of
both servers is sampled after a warm-up and at the end, and must not grow by 10 % or more.

``python -m bench.soak [--minutes 10] [--clients 8]``; exit 0 when there was no error and the
memory stayed flat, 1 otherwise. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import aiohttp

from bench.procs import read_status_kib
from bench.services import (
    SERVICE,
    Authsvc,
    Registry,
    basic,
    generate_keys,
    prepare_authsvc,
    refresh_token,
    start_authsvc,
    start_ours,
)

# Longer than the longest lifetime of what is cached per token or login (access tokens live 60 s
# by default; the registry keeps each verified token until it expires), so the caches are at
# their steady size when the first RSS figure is taken: growth after it is growth that lasts.
WARMUP = 120.0
# An RSS sample of both services every this many seconds, printed as a timeline at the end.
SAMPLE_EVERY = 60.0
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Soak:
    """The load of one run and what it saw."""

    def __init__(self, auth: Authsvc, registry: Registry, user: str, password: str) -> None:
        self.auth = auth
        self.registry = registry
        self.basic = basic(user, password)
        self.refresh = refresh_token(auth, user, password, ["repository:soak/x:pull"])
        self.ops: Counter[str] = Counter()
        self.rss: list[tuple[float, float, float]] = []
        self.errors: Counter[str] = Counter()
        self.pushed: list[tuple[str, str, str]] = []  # (repository, manifest digest, blob digest)

    def check(self, op: str, status: int, expected: set[int]) -> bool:
        self.ops[op] += 1
        if status not in expected:
            self.errors[f"{op}: {status}"] += 1
            return False
        return True

    async def token(self, http: aiohttp.ClientSession, repo: str) -> str:
        params = {"service": SERVICE, "scope": f"repository:{repo}:pull,push,delete"}
        headers = {"Authorization": self.basic}
        async with http.get(self.auth.realm, params=params, headers=headers) as resp:
            self.check("login", resp.status, {200})
            return str((await resp.json())["token"])

    async def refresh_grant(self, http: aiohttp.ClientSession) -> None:
        form = {
            "grant_type": "refresh_token", "refresh_token": self.refresh, "service": SERVICE,
            "client_id": "soak", "scope": "repository:soak/x:pull",
        }  # fmt: skip
        async with http.post(self.auth.realm, data=form) as resp:
            self.check("refresh", resp.status, {200})
            await resp.read()

    async def push(self, http: aiohttp.ClientSession) -> None:
        repo = f"soak/r{random.randrange(4)}"
        headers = {"Authorization": f"Bearer {await self.token(http, repo)}"}
        base = self.registry.url
        blob = os.urandom(random.randrange(1 << 10, 256 << 10))
        config = json.dumps({"nonce": secrets.token_hex(8)}).encode()
        for data in (blob, config):
            url = f"{base}/v2/{repo}/blobs/uploads/?digest={digest_of(data)}"
            async with http.post(url, data=data, headers=headers) as resp:
                if not self.check("push-blob", resp.status, {201}):
                    return
        manifest = json.dumps(
            {
                "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": digest_of(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": digest_of(blob), "size": len(blob)}],
            }
        ).encode()  # fmt: skip
        url = f"{base}/v2/{repo}/manifests/t{random.randrange(8)}"
        put_headers = {**headers, "Content-Type": MANIFEST_TYPE}
        async with http.put(url, data=manifest, headers=put_headers) as resp:
            if self.check("push-manifest", resp.status, {201}):
                self.pushed.append((repo, digest_of(manifest), digest_of(blob)))

    async def pull(self, http: aiohttp.ClientSession) -> None:
        if not self.pushed:
            return
        repo, manifest, blob = random.choice(self.pushed)
        headers = {"Authorization": f"Bearer {await self.token(http, repo)}"}
        base = self.registry.url
        async with http.get(f"{base}/v2/{repo}/manifests/{manifest}", headers=headers) as resp:
            # 404 when a delete got there first.
            if not self.check("pull-manifest", resp.status, {200, 404}) or resp.status == 404:
                return
        async with http.get(f"{base}/v2/{repo}/blobs/{blob}", headers=headers) as resp:
            self.check("pull-blob", resp.status, {200})
            await resp.read()

    async def delete(self, http: aiohttp.ClientSession) -> None:
        if len(self.pushed) < 20:
            return
        repo, manifest, _ = self.pushed.pop(random.randrange(len(self.pushed)))
        headers = {"Authorization": f"Bearer {await self.token(http, repo)}"}
        url = f"{self.registry.url}/v2/{repo}/manifests/{manifest}"
        async with http.delete(url, headers=headers) as resp:
            self.check("delete", resp.status, {202, 404})

    async def client(self, until: float) -> None:
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < until:
                op = random.choices(
                    [self.token, self.refresh_grant, self.push, self.pull, self.delete],
                    weights=[3, 3, 2, 4, 1],
                )[0]
                try:
                    if op == self.token:
                        await self.token(http, "soak/r0")
                    else:
                        await op(http)  # type: ignore[operator]
                except aiohttp.ClientError as exc:
                    self.errors[f"{op.__name__}: {type(exc).__name__}"] += 1


def rss_mib(pid: int) -> float:
    kib = read_status_kib(pid, "VmRSS")
    return (kib or 0) / 1024


async def run(
    soak: Soak, seconds: float, clients: int
) -> tuple[dict[str, float], dict[str, float]]:
    until = time.monotonic() + seconds
    tasks = [asyncio.create_task(soak.client(until)) for _ in range(clients)]
    began = time.monotonic()
    sampler = asyncio.create_task(sample(soak, began))
    await asyncio.sleep(min(WARMUP, seconds / 3))
    start = {"authsvc": rss_mib(soak.auth.pid), "registry": rss_mib(soak.registry.pid)}
    await asyncio.gather(*tasks)
    end = {"authsvc": rss_mib(soak.auth.pid), "registry": rss_mib(soak.registry.pid)}
    sampler.cancel()
    return start, end


async def sample(soak: Soak, began: float) -> None:
    """Append (seconds, authsvc MiB, registry MiB) to ``soak.rss`` every SAMPLE_EVERY seconds."""
    while True:
        soak.rss.append(
            (time.monotonic() - began, rss_mib(soak.auth.pid), rss_mib(soak.registry.pid))
        )
        await asyncio.sleep(SAMPLE_EVERY)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (logs, storage)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            work = args.keep
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        keys = generate_keys(work / "keys")
        user, password = "soak", secrets.token_urlsafe(18)
        auth = prepare_authsvc("sqlite", work / "authsvc", keys, f"sqlite:///{work / 'a.db'}")
        auth.add_users([(user, password)])
        auth.allow_all("soak/*")
        start_authsvc(stack, auth)
        registry = start_ours(stack, work / "ours", realm=auth.realm, bundle=keys.cert)
        soak = Soak(auth, registry, user, password)
        started = time.monotonic()
        start, end = asyncio.run(run(soak, args.minutes * 60, args.clients))
        elapsed = time.monotonic() - started
    total = sum(soak.ops.values())
    print(f"soak: {elapsed / 60:.1f} min, {args.clients} clients, {total} operations")
    for op, count in sorted(soak.ops.items()):
        print(f"  {op:14} {count}")
    errors = sum(soak.errors.values())
    print(f"errors: {errors}" + ("".join(f"\n  {k}: {v}" for k, v in soak.errors.items())))
    timeline = ", ".join(f"{t / 60:.0f} min {a:.0f}/{r:.0f}" for t, a, r in soak.rss)
    print(f"RSS timeline, MiB of authsvc/registry: {timeline}")
    flat = True
    for name in ("authsvc", "registry"):
        growth = (end[name] - start[name]) / start[name] if start[name] else 0.0
        flat = flat and growth < 0.10
        print(f"RSS {name}: {start[name]:.1f} MiB after warm-up, {end[name]:.1f} MiB at the end "
              f"({growth:+.1%})")  # fmt: skip
    return 0 if errors == 0 and flat else 1


if __name__ == "__main__":
    sys.exit(main())
