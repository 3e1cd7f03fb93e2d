"""authsvc workloads T1-T5 (bench/README.md), plus authsvc's peak RSS under the T1 load (R5)."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import statistics
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from typing import Any

from bench.procs import BenchError, RssSampler, free_port
from bench.results import Goal, Row, Target
from bench.services import SERVICE, Authsvc, basic, refresh_token, start_authsvc
from bench.suite import Bench, add_load_details, load_note, require_no_errors
from bench.wrk import HttpRequest

FORM = "application/x-www-form-urlencoded"
REFRESH_TOKENS = 8  # distinct refresh tokens in the rotation, as several clients would hold

# OWASP Password Storage Cheat Sheet, argon2id: equivalent minimum (memory KiB, passes) pairs.
OWASP_ARGON2ID = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}
ARGON2_RE = re.compile(r"^\$argon2(id|i|d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$")


def refresh_requests(svc: Authsvc, b: Bench, scope: str) -> list[HttpRequest]:
    """POST /auth refresh_token grants (README "Refresh tokens"), one per distinct token."""
    tokens = [refresh_token(svc, b.user, b.password, [scope]) for _ in range(REFRESH_TOKENS)]
    return [
        HttpRequest(
            "POST",
            svc.realm,
            {"Content-Type": FORM},
            urllib.parse.urlencode(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "service": SERVICE,
                    "client_id": "bench",
                    "scope": scope,
                }
            ),
        )
        for token in tokens
    ]


def against_reference(ref: Authsvc, requests: list[HttpRequest]) -> list[HttpRequest]:
    """The same requests sent to the reference token server instead of authsvc."""
    netloc = urllib.parse.urlsplit(ref.url).netloc
    return [
        dataclasses.replace(r, url=urllib.parse.urlsplit(r.url)._replace(netloc=netloc).geturl())
        for r in requests
    ]


def rate_with_reference(
    b: Bench,
    row: Row,
    svc: Authsvc,
    requests: list[HttpRequest],
    what: str,
    rss: list[float] | None = None,
) -> None:
    """Measure ``requests`` against authsvc and the reference in alternating repetitions.

    Our figures go to ``row.ours``, the reference's to ``row.distribution`` (``row.peer`` is
    "reference"), so the ratio column is the fraction of the reference authsvc reaches.
    """
    ref_requests = against_reference(b.ref, requests) if b.ref is not None else []
    if b.ref is not None:
        row.peer = "reference"
    for rep in b.reps():
        duration = b.settings.duration if rep >= 0 else b.settings.duration / 3
        plans: list[tuple[Authsvc, list[HttpRequest], list[float]]] = [(svc, requests, row.ours)]
        if b.ref is not None:
            plans.append((b.ref, ref_requests, row.distribution))
        for server, reqs, samples in plans if rep % 2 == 0 else plans[::-1]:
            with RssSampler(server.pid) as sampler:
                result = b.request_rate(server.url, reqs, duration, server.pid)
            require_no_errors(result, f"{what} {server.label}")
            if rep < 0:
                continue
            samples.append(result["rps"])
            suffix = "" if server is svc else "_ref"
            add_load_details(row, result, suffix)
            if server is svc and rss is not None:
                rss.append(sampler.peak_mib)
    row.note = load_note(row)
    if b.ref is not None:
        row.note += f"; reference: {load_note(row, '_ref')}"


def t1_refresh_grants(b: Bench) -> None:
    """T1: refresh-grant tokens/s on SQLite and PostgreSQL, as a fraction of the reference
    server measured in the same run; R5: authsvc's peak RSS meanwhile."""
    peaks: list[float] = []
    for svc, db in ((b.auth, "SQLite"), (b.auth_pg, "PostgreSQL")):
        row = b.row(
            "T1",
            f"T1 refresh grant ES256, {db}",
            "tokens/s",
            Target(Goal.RATIO_MIN, 0.5, ">= 0.5x ref"),
        )
        if svc is None:
            row.note = b.pg_note
            continue
        requests = refresh_requests(svc, b, "repository:bench/t1:pull")
        rate_with_reference(b, row, svc, requests, f"T1 {db}", peaks)
    b.row(
        "R5",
        "R5 authsvc peak RSS under T1 load",
        "MiB",
        Target(Goal.AT_MOST, 150, "< 150 MiB"),
        higher_is_better=False,
        peak=True,
        ours=peaks,
    )


def t2_cached_basic(b: Bench) -> None:
    """T2: GET /auth with Basic credentials the server verified moments ago."""
    row = b.row(
        "T2",
        "T2 GET /auth, Basic seen recently",
        "tokens/s",
        Target(Goal.AT_LEAST, 2000, ">= 2,000/s"),
    )
    query = urllib.parse.urlencode({"service": SERVICE, "scope": "repository:bench/t2:pull"})
    req = HttpRequest(
        "GET", f"{b.auth.realm}?{query}", {"Authorization": basic(b.user, b.password)}
    )
    # The first request pays argon2id, then the credentials are cached.
    b.request_rate(b.auth.url, [req], 0.5, b.auth.pid)
    rate_with_reference(b, row, b.auth, [req], "T2")


def pat_secret(svc: Authsvc, user: str, scope: str) -> str:
    """A personal access token for ``user`` from `authsvc pat create` (README), its secret."""
    out = svc.cli("pat", "create", user, "--name", "bench", "--scope", scope, "--expires", "1d")
    return out.strip().splitlines()[-1]


def t5_pat_basic(b: Bench) -> None:
    """T5: GET /auth with Basic ``user:PAT`` (the PAT as the password) for a repository scope.

    No argon2id is involved: the PAT authenticator checks the secret's checksum, looks its
    keyed SHA-256 up (cached for a second) and caps the ACL's grant with the token's scopes.
    """
    row = b.row(
        "T5",
        "T5 GET /auth, Basic with a PAT",
        "tokens/s",
        Target(Goal.AT_LEAST, 3000, ">= 3,000/s"),
    )
    secret = pat_secret(b.auth, b.user, "repository:bench/*:pull,push")
    query = urllib.parse.urlencode({"service": SERVICE, "scope": "repository:bench/t5:pull"})
    req = HttpRequest("GET", f"{b.auth.realm}?{query}", {"Authorization": basic(b.user, secret)})
    for rep in b.reps():
        duration = b.settings.duration if rep >= 0 else b.settings.duration / 3
        result = b.request_rate(b.auth.url, [req], duration, b.auth.pid)
        require_no_errors(result, "T5")
        if rep >= 0:
            row.ours.append(result["rps"])
            add_load_details(row, result)
    row.note = load_note(row)


def stored_hash(svc: Authsvc, user: str) -> str | None:
    """The user's password hash as stored in the SQLite database (None if unreadable)."""
    url = svc.env["AUTHSVC_DATABASE_URL"]
    path = url.split(":///", 1)[1] if url.startswith("sqlite") else None
    if path is None:
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            found = conn.execute(
                "SELECT password_hash FROM users WHERE name = ?", (user,)
            ).fetchone()
    except sqlite3.Error:
        return None
    return str(found[0]) if found and found[0] else None


def owasp_ok(memory_kib: int, time_cost: int) -> bool:
    """True if (m, t) is at least one of OWASP's equivalent argon2id minimums."""
    return memory_kib >= OWASP_ARGON2ID[min(max(time_cost, 1), 5)]


def timed_login(svc: Authsvc, user: str, password: str) -> float:
    """Seconds for one GET /auth with Basic credentials (must succeed)."""
    query = urllib.parse.urlencode({"service": SERVICE, "scope": "repository:bench/t3:pull"})
    req = urllib.request.Request(
        f"{svc.realm}?{query}", headers={"Authorization": basic(user, password)}
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    return time.perf_counter() - t0


def t3_argon2(b: Bench) -> None:
    """T3: the argon2id parameters in use and the time of one verification."""
    from argon2 import PasswordHasher

    row = b.row(
        "T3",
        "T3 argon2id single verify",
        "ms",
        Target(Goal.CHECK, 0, "argon2id >= OWASP min"),
    )
    encoded = stored_hash(b.auth, b.user)
    if encoded is None or not (m := ARGON2_RE.match(encoded)):
        raise BenchError(f"cannot read an argon2 hash for {b.user!r} from the SQLite database")
    variant, _, memory, passes, lanes = m.groups()
    memory_kib, time_cost, parallelism = int(memory), int(passes), int(lanes)
    row.label = f"T3 argon2id verify (m={memory_kib} KiB, t={time_cost}, p={parallelism})"
    row.check = variant == "id" and owasp_ok(memory_kib, time_cost)
    hasher = PasswordHasher()
    for rep in b.reps():
        count = 3 if b.settings.quick else 20
        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            hasher.verify(encoded, b.password)
            times.append(time.perf_counter() - t0)
        if rep >= 0:
            row.ours.append(statistics.median(times) * 1000)
    # End to end: the first login of a user pays the verification, the next one is cached.
    user, password = b.t3_user
    first = timed_login(b.auth, user, password)
    cached = min(timed_login(b.auth, user, password) for _ in range(5))
    row.details = {
        "variant": f"argon2{variant}",
        "memory_kib": memory_kib,
        "time_cost": time_cost,
        "parallelism": parallelism,
        "first_login_ms": first * 1000,
        "cached_login_ms": cached * 1000,
    }
    row.note = (
        f"argon2{variant} m={memory_kib} KiB t={time_cost} p={parallelism}; first login "
        f"{first * 1000:.1f} ms end to end, cached login {cached * 1000:.1f} ms"
    )


def t4_latency_under_logins(b: Bench) -> None:
    """T4: refresh-grant p99 while 16 uncached password logins are in flight."""
    s = b.settings
    row = b.row(
        "T4",
        f"T4 refresh p99 with {s.t4_in_flight} slow logins",
        "ms",
        Target(Goal.AT_MOST, 50, "< 50 ms"),
        higher_is_better=False,
    )
    refresh = refresh_requests(b.auth, b, "repository:bench/t4:pull")[0].as_dict()
    query = urllib.parse.urlencode({"service": SERVICE, "scope": "repository:bench/t4:pull"})
    pool = list(b.t4_users)
    details: list[dict[str, Any]] = []
    for rep in b.reps():
        fresh = [] if rep < 0 else pool[: s.t4_fresh_per_rep]
        if rep >= 0:
            del pool[: s.t4_fresh_per_rep]
        result = b.load.call(
            "t4",
            timeout=s.t4_duration + 120,
            refresh=refresh,
            login_url=f"{b.auth.realm}?{query}",
            fresh=[list(p) for p in fresh],
            # Wrong passwords go to the pool's users, never to the account other workloads use.
            known=[u for u, _ in b.t4_users] or [b.t3_user[0]],
            in_flight=s.t4_in_flight,
            duration=s.t4_duration if rep >= 0 else 1.0,
            concurrency=4,
        )
        require_no_errors(result, "T4 refresh grants")
        if rep >= 0:
            row.ours.append(result["p99_ms"])
            details.append(result)
    row.details = {"runs": details}
    if details:
        logins = sum(sum(d["logins"].values()) for d in details)
        seconds = s.t4_duration * len(details)
        row.note = (
            f"{logins / seconds:.0f} slow logins/s completed, "
            f"{statistics.mean(d['mean_logins_in_flight'] for d in details):.1f} in flight on "
            f"average; p50 {statistics.median(d['p50_ms'] for d in details):.1f} ms"
        )


def t1w_workers(b: Bench) -> None:
    """T1W: T1's refresh grants against one process and against ``--workers 2``, same database.

    Both servers run side by side on the same database (PostgreSQL when there is one: SQLite
    serialises writers across processes) and are measured in alternating repetitions. On the
    2-core development machine the load generator shares the cores with the workers, so this
    shows what a second process buys when the machine is otherwise busy, not the scaling of a
    server with cores to itself.
    """
    base = b.auth_pg or b.auth
    db = "PostgreSQL" if b.auth_pg is not None else "SQLite"
    one = b.row(
        "T1W", f"T1W refresh grant, 1 process, {db}", "tokens/s", Target(Goal.CHECK, 0, "measured")
    )
    two = b.row(
        "T1W", f"T1W refresh grant, 2 workers, {db}", "tokens/s", Target(Goal.CHECK, 0, "measured")
    )
    env = {**base.env, "AUTHSVC_LISTEN": f"127.0.0.1:{free_port()}", "AUTHSVC_WORKERS": "2"}
    port = int(env["AUTHSVC_LISTEN"].rpartition(":")[2])
    workers = Authsvc(f"{base.label}-workers", port, env, b.workdir / "authsvc-workers.log")
    with ExitStack() as stack:
        start_authsvc(stack, workers)
        plans = [
            (one, base, refresh_requests(base, b, "repository:bench/t1w:pull")),
            (two, workers, refresh_requests(workers, b, "repository:bench/t1w:pull")),
        ]
        for rep in b.reps():
            duration = b.settings.duration if rep >= 0 else b.settings.duration / 3
            for row, svc, requests in plans if rep % 2 == 0 else plans[::-1]:
                result = b.request_rate(svc.url, requests, duration, svc.pid)
                require_no_errors(result, f"T1W {svc.label}")
                if rep >= 0:
                    row.ours.append(result["rps"])
    for row in (one, two):
        row.check = bool(row.ours)
    if one.ours_median and two.ours_median:
        two.note = (
            f"{two.ours_median / one.ours_median:.2f}x one process; the load generator runs on "
            "the same 2 cores"
        )


def ta_audit_cost(b: Bench) -> None:
    """TA: T1's and T2's requests with the audit trail on and off, same database, same run.

    A second authsvc with ``AUTHSVC_AUDIT=false`` serves the SQLite database of the first, and
    the two are measured in alternating repetitions, so the ratio is not a comparison across
    runs of a noisy machine. #10 asks that the audit keep T1 and T2 within 10 % of their
    figures without it.
    """
    off_env = {**b.auth.env, "AUTHSVC_LISTEN": f"127.0.0.1:{free_port()}", "AUTHSVC_AUDIT": "false"}
    port = int(off_env["AUTHSVC_LISTEN"].rpartition(":")[2])
    off = Authsvc("sqlite-audit-off", port, off_env, b.workdir / "authsvc-audit-off.log")
    query = urllib.parse.urlencode({"service": SERVICE, "scope": "repository:bench/ta:pull"})
    with ExitStack() as stack:
        start_authsvc(stack, off)
        for kind in ("T1 refresh grant", "T2 GET /auth, Basic seen recently"):
            rows = {
                svc.label: b.row(
                    "TA",
                    f"TA {kind}, audit {'on' if svc is b.auth else 'off'}",
                    "tokens/s",
                    Target(Goal.CHECK, 0, "measured"),
                )
                for svc in (b.auth, off)
            }
            plans = []
            for svc in (b.auth, off):
                if kind.startswith("T1"):
                    requests = refresh_requests(svc, b, "repository:bench/ta:pull")
                else:
                    auth = {"Authorization": basic(b.user, b.password)}
                    requests = [HttpRequest("GET", f"{svc.realm}?{query}", auth)]
                    b.request_rate(svc.url, requests, 0.5, svc.pid)  # the first pays argon2id
                plans.append((rows[svc.label], svc, requests))
            for rep in b.reps():
                duration = b.settings.duration if rep >= 0 else b.settings.duration / 3
                for row, svc, requests in plans if rep % 2 == 0 else plans[::-1]:
                    result = b.request_rate(svc.url, requests, duration, svc.pid)
                    require_no_errors(result, f"TA {svc.label}")
                    if rep >= 0:
                        row.ours.append(result["rps"])
                        add_load_details(row, result)
            on_row, off_row = rows[b.auth.label], rows[off.label]
            for row in (on_row, off_row):
                row.check = bool(row.ours)
            if on_row.ours_median and off_row.ours_median:
                cost = 1 - on_row.ours_median / off_row.ours_median
                on_row.note = f"the audit costs {cost:.1%} of the throughput without it"
                # Server CPU per token is the steadier figure on a loaded machine: throughput
                # moves with whatever else runs, the work one token costs much less.
                cpu_on, cpu_off = (
                    statistics.median(r.details.get("server_cpu_ms_per_request") or [0.0])
                    for r in (on_row, off_row)
                )
                if cpu_on and cpu_off:
                    on_row.note += (
                        f", and {cpu_on / cpu_off - 1:.1%} more server CPU per token"
                        f" ({cpu_on * 1000:.0f} vs {cpu_off * 1000:.0f} us)"
                    )
