"""Registry workloads R1-R6 (bench/README.md); ours and Distribution alternate in each rep."""

from __future__ import annotations

import os
import shutil
import statistics
import time

from bench.content import MiB
from bench.ociimage import build_image
from bench.procs import BenchError, RssSampler, run
from bench.regclient import OCI_MANIFEST
from bench.results import Goal, Target
from bench.services import Registry
from bench.suite import Bench, add_load_details, load_note, record, require_no_errors
from bench.wrk import HttpRequest

MB = 1e6  # throughput is reported in MB/s (10^6 bytes), as bench/README.md defines it


def size_label(size: int) -> str:
    """256 MiB, 1 GiB, 8 MiB..."""
    return f"{size >> 30} GiB" if size >= 1 << 30 and size % (1 << 30) == 0 else f"{size >> 20} MiB"


def r1_manifest_get(b: Bench) -> None:
    """R1: manifest GET by tag with a bearer token, requests per second."""
    row = b.row("R1", "R1 manifest GET by tag", "req/s", Target(Goal.RATIO_MIN, 4.0, ">= 4x"))
    name = "bench/r1"
    for reg in b.registries():
        b.load.call("push_small_image", base=reg.url, name=name, tag="latest", auth=b.bearer(name))
    for rep in b.reps():
        for reg in b.alternate(rep):
            headers = {"Authorization": b.bearer(name, "pull"), "Accept": OCI_MANIFEST}
            req = HttpRequest("GET", f"{reg.url}/v2/{name}/manifests/latest", headers)
            duration = b.settings.duration if rep >= 0 else b.settings.duration / 3
            result = b.request_rate(reg.url, [req], duration, reg.pid)
            require_no_errors(result, f"R1 {reg.label}")
            if rep >= 0:
                record(row, reg, result["rps"])
                add_load_details(row, result, f"_{reg.label}")
    notes = [f"{reg.label}: {load_note(row, '_' + reg.label)}" for reg in b.registries()]
    row.note = "; ".join(notes)


def _upload(b: Bench, reg: Registry, name: str, size: int, mode: str) -> tuple[float, str]:
    """One timed upload of fresh content; return (MB/s, digest)."""
    result = b.load.call(
        "upload",
        base=reg.url,
        name=name,
        auth=b.bearer(name),
        size=size,
        nonce=b.nonce(),
        mode=mode,
        parts=3,
    )
    return result["bytes"] / result["seconds"] / MB, result["digest"]


def r2_upload(b: Bench) -> None:
    """R2: blob upload MB/s, monolithic (POST+PUT) and chunked (3 PATCH + PUT), per size."""
    name = "bench/r2"
    rows = {
        (size, mode): b.row(
            "R2",
            f"R2 upload {mode} {size_label(size)}",
            "MB/s",
            Target(Goal.RATIO_MIN, 1.5, ">= 1.5x"),
        )
        for size in b.settings.sizes
        for mode in ("monolithic", "chunked")
    }
    for rep in b.reps():
        for (size, mode), row in rows.items():
            if rep < 0 and size != b.settings.sizes[0]:
                continue  # one warm-up per mode, at the smallest size
            for reg in b.alternate(rep):
                rate, digest = _upload(b, reg, name, size, mode)
                reg.forget_blob(name, digest)
                if rep >= 0:
                    record(row, reg, rate)


def r3_download(b: Bench) -> None:
    """R3: blob download MB/s per size (the blob is uploaded once, untimed)."""
    name = "bench/r3"
    blobs: dict[tuple[str, int], str] = {}
    rows = {
        size: b.row(
            "R3",
            f"R3 download {size_label(size)}",
            "MB/s",
            Target(Goal.RATIO_MIN, 1.0, ">= 1.0x"),
        )
        for size in b.settings.sizes
    }
    for reg in b.registries():
        for size in b.settings.sizes:
            _, blobs[reg.label, size] = _upload(b, reg, name, size, "monolithic")
    for rep in b.reps():
        for size, row in rows.items():
            for reg in b.alternate(rep):
                digest = blobs[reg.label, size]
                # curl is the main client: at 1-2 GB/s a Python client is itself a limit.
                # The aiohttp figure is kept next to it as a cross-check.
                result = b.load.call(
                    "download", base=reg.url, name=name, auth=b.bearer(name, "pull"),
                    digest=digest, size=size,
                )  # fmt: skip
                aiohttp_rate = result["bytes"] / result["seconds"] / MB
                rate = curl_download(b, reg, name, digest, size) if b.curl else aiohttp_rate
                if rep >= 0:
                    record(row, reg, rate)
                    row.details.setdefault(f"aiohttp_mbps_{reg.label}", []).append(aiohttp_rate)
    for row in rows.values():
        row.note = "curl; aiohttp client: " + ", ".join(
            f"{reg.label} {statistics.median(row.details[f'aiohttp_mbps_{reg.label}']):,.0f} MB/s"
            for reg in b.registries()
            if row.details.get(f"aiohttp_mbps_{reg.label}")
        )
        if not b.curl:
            row.note = "aiohttp client (curl is not installed)"
    for reg in b.registries():
        for size in b.settings.sizes:
            reg.forget_blob(name, blobs[reg.label, size])


def r3b_push_then_pull(b: Bench) -> None:
    """R3b: a fresh blob is uploaded, then downloaded at once; the download's MB/s per size.

    This is what a CI pipeline does (build, push, deploy): the first pull of a blob comes
    right after its push, so it shows whether the upload left the blob where a read finds it
    fast. Every repetition uploads new content, and the upload's own rate is kept in the
    details (the note gives its median next to the download's).
    """
    name = "bench/r3b"
    rows = {
        size: b.row(
            "R3b",
            f"R3b push then pull {size_label(size)}",
            "MB/s",
            Target(Goal.RATIO_MIN, 1.0, ">= 1.0x"),
        )
        for size in b.settings.sizes
    }
    for rep in b.reps():
        for size, row in rows.items():
            if rep < 0 and size != b.settings.sizes[0]:
                continue  # one warm-up, at the smallest size
            for reg in b.alternate(rep):
                up_rate, digest = _upload(b, reg, name, size, "monolithic")
                try:
                    if b.curl:
                        rate = curl_download(b, reg, name, digest, size)
                    else:
                        result = b.load.call(
                            "download", base=reg.url, name=name, auth=b.bearer(name, "pull"),
                            digest=digest, size=size,
                        )  # fmt: skip
                        rate = result["bytes"] / result["seconds"] / MB
                finally:
                    reg.forget_blob(name, digest)
                if rep >= 0:
                    record(row, reg, rate)
                    row.details.setdefault(f"upload_mbps_{reg.label}", []).append(up_rate)
    for row in rows.values():
        client = "curl" if b.curl else "aiohttp client (curl is not installed)"
        uploads = ", ".join(
            f"{reg.label} {statistics.median(row.details[f'upload_mbps_{reg.label}']):,.0f}"
            for reg in b.registries()
            if row.details.get(f"upload_mbps_{reg.label}")
        )
        row.note = f"{client}; the uploads before the pulls, MB/s: {uploads}"


def curl_download(b: Bench, reg: Registry, name: str, digest: str, size: int) -> float:
    """MB/s of one blob GET by curl into /dev/null, timed by curl itself (no process start)."""
    assert b.curl is not None
    out = run(
        [b.curl, "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
         "-H", f"Authorization: {b.bearer(name, 'pull')}", f"{reg.url}/v2/{name}/blobs/{digest}"],
        timeout=600,
    )  # fmt: skip
    status, got, seconds = out.split()
    if status != "200" or int(got) != size:
        raise BenchError(f"curl GET blob from {reg.label}: HTTP {status}, {got} of {size} bytes")
    return size / float(seconds) / MB


def r4_concurrent_uploads(b: Bench) -> None:
    """R4: 20 concurrent monolithic uploads of distinct 16 MiB blobs, aggregate MB/s."""
    s = b.settings
    name = "bench/r4"
    row = b.row(
        "R4",
        f"R4 {s.r4_count} concurrent {size_label(s.r4_size)} uploads",
        "MB/s",
        Target(Goal.RATIO_MIN, 1.5, ">= 1.5x"),
    )
    for rep in b.reps():
        for reg in b.alternate(rep):
            result = b.load.call(
                "concurrent_uploads",
                base=reg.url,
                name=name,
                auth=b.bearer(name),
                size=s.r4_size,
                count=s.r4_count,
                nonce=b.nonce(),
            )
            for digest in result["digests"]:
                reg.forget_blob(name, digest)
            if rep >= 0:
                record(row, reg, result["bytes"] / result["seconds"] / MB)


def r5_registry_rss(b: Bench) -> None:
    """R5: the registry's peak RSS while a large blob goes up and comes back down."""
    s = b.settings
    name = "bench/r5"
    row = b.row(
        "R5",
        f"R5 registry peak RSS, {size_label(s.r5_size)} up+down",
        "MiB",
        Target(Goal.AT_MOST, 150, "< 150 MiB"),
        higher_is_better=False,
        peak=True,
    )
    for rep in b.reps():
        if rep < 0:
            continue  # nothing to warm: the upload paths ran in R2
        for reg in b.alternate(rep):
            with RssSampler(reg.pid) as sampler:
                _, digest = _upload(b, reg, name, s.r5_size, "monolithic")
                b.load.call(
                    "download",
                    base=reg.url,
                    name=name,
                    auth=b.bearer(name, "pull"),
                    digest=digest,
                    size=s.r5_size,
                )
            reg.forget_blob(name, digest)
            record(row, reg, sampler.peak_mib)
            row.details["hwm_reset"] = sampler.hwm_reset


def skopeo_copy(b: Bench, layout: str, reg: Registry, repo: str, tag: str) -> float:
    """Seconds for `skopeo copy oci:DIR:TAG docker://REGISTRY/REPO:TAG` with Basic creds."""
    assert b.skopeo is not None
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(b.workdir / "skopeo-auth.json")}
    t0 = time.perf_counter()
    run(
        [
            b.skopeo,
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"{b.user}:{b.password}",
            f"oci:{layout}:{tag}",
            f"docker://{reg.host}/{repo}:{tag}",
        ],
        env=env,
        timeout=600,
    )
    return time.perf_counter() - t0


def r6_skopeo_copy(b: Bench) -> None:
    """R6: wall time of `skopeo copy` of a fresh 4-layer image into each registry."""
    s = b.settings
    row = b.row(
        "R6",
        f"R6 skopeo copy {s.r6_layers}x{size_label(s.r6_layer_size)} layers",
        "s",
        Target(Goal.RATIO_MIN, 1.0, "ours <= Distribution"),
        higher_is_better=False,
    )
    if b.skopeo is None:
        row.note = "skopeo is not installed"
        return
    for rep in b.reps():
        # A new image each time: blobs a registry already holds would be skipped or mounted.
        layout = b.workdir / f"oci-image-{rep + 1}"
        size = s.r6_layer_size if rep >= 0 else MiB
        build_image(layout, "v1", s.r6_layers, size)
        try:
            for reg in b.alternate(rep):
                seconds = skopeo_copy(b, str(layout), reg, f"bench/r6-{rep + 1}", "v1")
                if rep >= 0:
                    record(row, reg, seconds)
        finally:
            shutil.rmtree(layout, ignore_errors=True)
    if not row.ours:
        raise BenchError("R6 produced no samples")
