"""The aiohttp load generator, a separate process: ``python -m bench.loadgen``.

It reads one JSON command per line on stdin and answers one JSON line on stdout, so the suite
keeps one warm process (and its random block and digests) across measurements. Each command
times only its own transfer; digests and connections are prepared before the clock starts.
Every loop is bounded both in requests and in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bench.content import Content, MiB
from bench.regclient import download, push_small_image, upload_chunked, upload_monolithic

Args = dict[str, Any]
Result = dict[str, Any]

# Large client buffers: the defaults (64 KiB) would make the client, not the server, the limit.
READ_BUFSIZE = 4 * MiB


def session(limit: int = 0) -> aiohttp.ClientSession:
    """A client session with no total timeout (commands bound themselves) and big buffers."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, force_close=False),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120),
        read_bufsize=READ_BUFSIZE,
        auto_decompress=False,
    )


class LoadGen:
    """The command handlers; ``content`` lives as long as the process."""

    def __init__(self) -> None:
        """Draw the random block once."""
        self.content = Content()

    async def op_digest(self, a: Args) -> Result:
        """Precompute (and cache) a blob digest so later timings exclude hashing."""
        return {"digest": self.content.digest(a["size"], bytes.fromhex(a["nonce"]))}

    async def op_upload(self, a: Args) -> Result:
        """Upload one blob, monolithic or chunked; time POST through the final 201."""
        size, nonce = int(a["size"]), bytes.fromhex(a["nonce"])
        digest = self.content.digest(size, nonce)
        async with session(4) as s:
            t0 = time.perf_counter()
            if a["mode"] == "chunked":
                await upload_chunked(
                    s,
                    a["base"],
                    a["name"],
                    a["auth"],
                    self.content,
                    size,
                    nonce,
                    digest,
                    parts=int(a.get("parts", 3)),
                )
            else:
                body = self.content.stream(size, nonce)
                await upload_monolithic(s, a["base"], a["name"], a["auth"], body, size, digest)
            seconds = time.perf_counter() - t0
        return {"seconds": seconds, "bytes": size, "digest": digest}

    async def op_download(self, a: Args) -> Result:
        """Download one blob and discard it; time the whole GET."""
        async with session(4) as s:
            t0 = time.perf_counter()
            got = await download(s, a["base"], a["name"], a["auth"], a["digest"])
            seconds = time.perf_counter() - t0
        if got != int(a["size"]):
            raise RuntimeError(f"downloaded {got} bytes, expected {a['size']}")
        return {"seconds": seconds, "bytes": got}

    async def op_concurrent_uploads(self, a: Args) -> Result:
        """``count`` monolithic uploads at once, each of distinct content; time them all."""
        size, count = int(a["size"]), int(a["count"])
        nonces = [bytes.fromhex(a["nonce"]) + i.to_bytes(4, "big") for i in range(count)]
        digests = [self.content.digest(size, n) for n in nonces]
        async with session(0) as s:
            t0 = time.perf_counter()
            await asyncio.gather(
                *(
                    upload_monolithic(
                        s, a["base"], a["name"], a["auth"], self.content.stream(size, n), size, d
                    )
                    for n, d in zip(nonces, digests, strict=True)
                )
            )
            seconds = time.perf_counter() - t0
        return {"seconds": seconds, "bytes": size * count, "digests": digests}

    async def op_push_small_image(self, a: Args) -> Result:
        """Push the small image R1 reads."""
        async with session(4) as s:
            return dict(await push_small_image(s, a["base"], a["name"], a["tag"], a["auth"]))

    async def op_reqloop(self, a: Args) -> Result:
        """Closed-loop requests (round robin over ``requests``) from ``concurrency`` workers."""
        requests = a["requests"]
        return await request_loop(
            requests, int(a["concurrency"]), float(a["duration"]), int(a["max_requests"])
        )

    async def op_t4(self, a: Args) -> Result:
        """Refresh-grant latency while ``in_flight`` uncached password logins are running."""
        return await slow_login_probe(a)


async def _send(s: aiohttp.ClientSession, req: Args) -> int:
    async with s.request(
        req["method"], req["url"], headers=req.get("headers"), data=req.get("body")
    ) as resp:
        await resp.read()
        return resp.status


def _percentiles(latencies: list[float]) -> Result:
    if not latencies:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": p99 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


async def request_loop(
    requests: list[Args], concurrency: int, duration: float, max_requests: int
) -> Result:
    """Workers send requests back to back until ``duration`` or ``max_requests`` is reached."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    statuses: dict[str, int] = {}
    async with session(concurrency) as s:
        await _send(s, requests[0])  # open a connection outside the timing
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal errors, counter
            while counter < max_requests and time.perf_counter() < deadline:
                req = requests[counter % len(requests)]
                counter += 1
                t0 = time.perf_counter()
                status = await _send(s, req)
                latencies.append(time.perf_counter() - t0)
                if not 200 <= status < 300:
                    errors += 1
                    statuses[str(status)] = statuses.get(str(status), 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    done = len(latencies)
    return {
        "requests": done,
        "seconds": seconds,
        "rps": done / seconds if seconds else 0.0,
        "errors": errors,
        "error_kinds": statuses,
        **_percentiles(latencies),
    }


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


async def slow_login_probe(a: Args) -> Result:
    """Keep ``in_flight`` logins running (fresh users first, then fresh wrong passwords, so the
    credential cache never answers) and measure refresh grants meanwhile."""
    fresh: deque[list[str]] = deque(a["fresh"])
    known: list[str] = a["known"]
    in_flight = int(a["in_flight"])
    login_url: str = a["login_url"]
    duration = float(a["duration"])
    stop = asyncio.Event()
    stats = {"ok": 0, "unauthorized": 0, "other": 0, "inflight_samples": 0, "inflight_sum": 0}
    login_latencies: list[float] = []
    active = 0

    async with session(0) as s:

        async def login_worker() -> None:
            nonlocal active
            while not stop.is_set():
                if fresh:
                    user, password = fresh.popleft()
                else:  # a never-seen password still pays the whole argon2id verification
                    user, password = random.choice(known), os.urandom(12).hex()
                t0 = time.perf_counter()
                active += 1
                try:
                    async with s.get(
                        login_url, headers={"Authorization": _basic(user, password)}
                    ) as resp:
                        await resp.read()
                        status = resp.status
                finally:
                    active -= 1
                login_latencies.append(time.perf_counter() - t0)
                key = {200: "ok", 401: "unauthorized"}.get(status, "other")
                stats[key] += 1

        refresh: Args = a["refresh"]
        await _send(s, refresh)  # warm connection and caches
        logins = [asyncio.create_task(login_worker()) for _ in range(in_flight)]
        await asyncio.sleep(float(a.get("ramp", 0.2)))
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + duration

        async def refresher() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) < 1_000_000:
                t0 = time.perf_counter()
                status = await _send(s, refresh)
                latencies.append(time.perf_counter() - t0)
                stats["inflight_samples"] += 1
                stats["inflight_sum"] += active
                if status != 200:
                    errors += 1

        await asyncio.gather(*(refresher() for _ in range(int(a.get("concurrency", 4)))))
        stop.set()
        # In-flight logins finish on their own (each is one verification); bound the wait.
        await asyncio.wait_for(asyncio.gather(*logins, return_exceptions=True), timeout=60)

    samples = stats.pop("inflight_samples")
    mean_inflight = stats.pop("inflight_sum") / samples if samples else 0.0
    return {
        "requests": len(latencies),
        "errors": errors,
        "mean_logins_in_flight": mean_inflight,
        "logins": stats,
        "login_p50_ms": statistics.median(login_latencies) * 1000 if login_latencies else None,
        **_percentiles(latencies),
    }


def main() -> int:
    """Serve commands from stdin until EOF; results go to the original stdout only."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing a library prints may corrupt the protocol
    gen = LoadGen()
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            handler: Callable[[Args], Awaitable[Result]] = getattr(gen, f"op_{cmd.pop('op')}")
            reply: Result = {"ok": True, "result": loop.run_until_complete(handler(cmd))}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
    loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
