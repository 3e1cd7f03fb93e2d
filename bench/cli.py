"""`python -m bench [--quick]`: start the stack, run the workloads, print the table, save JSON."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import auth_workloads as auth_w
from bench import registry_workloads as reg_w
from bench.loadclient import LoadClient
from bench.procs import BenchError, install_signal_handlers
from bench.profiling import profiled
from bench.results import Goal, Row, Target, render_notes, render_table, write_json
from bench.services import (
    DEFAULT_POSTGRES_URL,
    generate_keys,
    postgres_database,
    prepare_authsvc,
    start_authsvc,
    start_distribution,
    start_ours,
    start_refauth,
)
from bench.suite import Bench, Settings
from bench.wrk import wrk_binary

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Workload = Callable[[Bench], None]
WORKLOADS: dict[str, Workload] = {
    "T1": auth_w.t1_refresh_grants,
    "T2": auth_w.t2_cached_basic,
    "T3": auth_w.t3_argon2,
    "T4": auth_w.t4_latency_under_logins,
    "T5": auth_w.t5_pat_basic,
    "T1W": auth_w.t1w_workers,
    "TA": auth_w.ta_audit_cost,
    "R1": reg_w.r1_manifest_get,
    "R2": reg_w.r2_upload,
    "R3": reg_w.r3_download,
    "R3b": reg_w.r3b_push_then_pull,
    "R4": reg_w.r4_concurrent_uploads,
    "R5": reg_w.r5_registry_rss,
    "R6": reg_w.r6_skopeo_copy,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="every workload once, small and brief")
    p.add_argument("--only", default="", help="comma-separated workloads, e.g. T1,R2")
    p.add_argument("--reps", type=int, default=5, help="repetitions in full mode (>= 5)")
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="request-rate client: wrk (full mode default when installed) or aiohttp",
    )
    p.add_argument("--duration", type=float, help="seconds per request-rate measurement")
    p.add_argument("--profile", type=Path, metavar="DIR", help="py-spy our servers into DIR")
    p.add_argument(
        "--authsvc-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra AUTHSVC_* setting for authsvc (repeatable), e.g. AUTHSVC_AUDIT=false",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    p.add_argument("--json", type=Path, help="results file (default bench/results/<time>.json)")
    return p.parse_args(argv)


def authsvc_settings(args: argparse.Namespace) -> dict[str, str]:
    """``--authsvc-env NAME=VALUE`` options as a mapping; only AUTHSVC_* names are accepted."""
    extra: dict[str, str] = {}
    for item in args.authsvc_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("AUTHSVC_"):
            raise BenchError(f"--authsvc-env: expected AUTHSVC_NAME=VALUE, got {item!r}")
        extra[name] = value
    return extra


def choose_settings(args: argparse.Namespace) -> Settings:
    """Full or quick settings; quick mode uses the aiohttp client unless wrk is asked for."""
    if args.loadgen == "wrk" and wrk_binary() is None:
        raise BenchError("--loadgen wrk: wrk is not installed")
    use_wrk = args.loadgen == "wrk" or (
        args.loadgen == "auto" and not args.quick and wrk_binary() is not None
    )
    settings = (
        Settings.quick_run(use_wrk=use_wrk)
        if args.quick
        else Settings.full(use_wrk=use_wrk, reps=args.reps)
    )
    if args.duration:
        settings = dataclasses.replace(settings, duration=args.duration)
    return settings


def find_tool(name: str) -> str | None:
    """An installed executable (sbin directories included)."""
    return shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{name}", os.X_OK)), None
    )


def build_stack(
    stack: ExitStack,
    settings: Settings,
    workdir: Path,
    names: list[str],
    log: Callable[[str], None],
    authsvc_extra: dict[str, str] | None = None,
) -> Bench:
    """Keys, databases, users, ACLs and the four servers; everything stops with ``stack``."""
    keys = generate_keys(workdir / "keys")
    user, password = "bench", secrets.token_urlsafe(18)
    # Users whose first login the server has never seen: one for T3, a pool for T4.
    fresh = settings.t4_fresh_per_rep * settings.reps if "T4" in names else 0
    t3_user = ("first-login", secrets.token_urlsafe(18))
    t4_users = [(f"fresh{i:03d}", secrets.token_urlsafe(18)) for i in range(fresh)]

    log("authsvc (SQLite): migrate, add users and the ACL")
    auth = prepare_authsvc(
        "sqlite",
        workdir / "authsvc-sqlite",
        keys,
        f"sqlite:///{workdir / 'authsvc-sqlite' / 'authsvc.db'}",
        authsvc_extra,
    )
    auth.add_users([(user, password), t3_user, *t4_users])
    auth.allow_all()
    start_authsvc(stack, auth)

    auth_pg, pg_note = None, ""
    admin_url = os.environ.get("AUTHSVC_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        pg_url = stack.enter_context(postgres_database(admin_url))
    except Exception as exc:  # no PostgreSQL here: the PostgreSQL row says so
        pg_note = f"PostgreSQL unavailable ({type(exc).__name__}: {exc})"
        log(pg_note)
    else:
        log("authsvc (PostgreSQL): migrate, add the user and the ACL")
        auth_pg = prepare_authsvc("postgresql", workdir / "authsvc-pg", keys, pg_url, authsvc_extra)
        auth_pg.add_users([(user, password)])
        auth_pg.allow_all()
        start_authsvc(stack, auth_pg)

    ref = None
    if {"T1", "T2"} & set(names):
        log("the reference token server (bench/refauth.py)")
        ref = start_refauth(stack, workdir / "refauth", keys)

    log("registries: ours and Distribution")
    ours = start_ours(stack, workdir / "ours", realm=auth.realm, bundle=keys.cert)
    distribution = None
    if binary := find_tool("docker-registry"):
        distribution = start_distribution(
            stack, binary, workdir / "distribution", realm=auth.realm, bundle=keys.cert
        )
    load = LoadClient(workdir / "loadgen.log")
    stack.callback(load.close)
    return Bench(
        settings=settings,
        workdir=workdir,
        keys=keys,
        auth=auth,
        auth_pg=auth_pg,
        pg_note=pg_note,
        ours=ours,
        distribution=distribution,
        ref=ref,
        load=load,
        user=user,
        password=password,
        t3_user=t3_user,
        t4_users=t4_users,
        skopeo=find_tool("skopeo"),
        curl=find_tool("curl"),
    )


def run_workloads(
    b: Bench, names: list[str], log: Callable[[str], None], profile: Path | None = None
) -> None:
    """Run each workload; a failure marks its rows ERROR and the suite goes on."""
    for name in names:
        before = len(b.rows)
        t0 = time.monotonic()
        log(f"{name} ...")
        try:
            with ExitStack() as prof:
                if profile is not None:
                    profile.mkdir(parents=True, exist_ok=True)
                    for label, pid in profile_targets(b, name):
                        prof.enter_context(profiled(pid, profile / f"{name}-{label}.raw"))
                WORKLOADS[name](b)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            print_log_tails(b)
            # Rows the workload had finished keep their figures; the others carry the error.
            new = b.rows[before:] or [b.row(name, name, "", Target(Goal.CHECK, 0, "—"))]
            unfinished = [r for r in new if not r.ours and not r.note] or new[-1:]
            for row in unfinished:
                row.error = message
        log(f"{name} done in {time.monotonic() - t0:.1f} s")


def print_log_tails(b: Bench, lines: int = 15) -> None:
    """The end of every server log, to explain a failed workload."""
    logs = [b.auth.log, b.ours.log] + [s.log for s in (b.auth_pg, b.distribution) if s]
    for path in logs:
        try:
            tail = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        print(f"--- {path} (last {len(tail)} lines)", *tail, sep="\n", file=sys.stderr)


def profile_targets(b: Bench, name: str) -> list[tuple[str, int]]:
    """Which of our servers a workload loads: authsvc for T*, the registry for R*."""
    if name.startswith("R"):
        return [("registry", b.ours.pid)]
    targets = [("authsvc-sqlite", b.auth.pid)]
    if name == "T1" and b.auth_pg is not None:
        targets.append(("authsvc-pg", b.auth_pg.pid))
    return targets


def environment(b: Bench) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "distribution": b.distribution is not None,
        "skopeo": b.skopeo,
        "curl": b.curl,
        "postgresql": b.auth_pg is not None,
        "loadgen": "wrk" if b.settings.use_wrk else "aiohttp",
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 when every workload ran (whatever the verdicts), 1 otherwise."""
    args = parse_args(argv)
    install_signal_handlers()
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f"[bench {time.monotonic() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    by_upper = {n.upper(): n for n in WORKLOADS}  # --only r3b,t1 works too
    asked = [n.strip() for n in args.only.split(",") if n.strip()]
    names = [by_upper.get(n.upper(), n) for n in asked] or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        settings = choose_settings(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    rows: list[Row] = []
    try:
        with ExitStack() as stack:
            b = build_stack(stack, settings, workdir, names, log, authsvc_settings(args))
            run_workloads(b, names, log, args.profile)
            rows = b.rows
            meta = {
                "started": started.isoformat(),
                "seconds": time.monotonic() - t0,
                "mode": "quick" if settings.quick else "full",
                "settings": settings.as_json(),
                "environment": environment(b),
            }
            log("stopping servers")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"bench: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if settings.quick:
        title = "quick mode: sizes and durations too small for the verdicts to mean much"
    else:
        title = f"medians of {settings.reps} runs after a warm-up; ratio: how many times better"
    print(f"\n{title}\n")
    print(render_table(rows))
    notes = render_notes(rows)
    if notes:
        print("\n" + notes)
    path = args.json or RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    write_json(path, meta, rows)
    print(f"\nresults: {path}")
    return 1 if any(r.error for r in rows) else 0
