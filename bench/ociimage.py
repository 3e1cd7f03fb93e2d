"""An OCI image layout directory with N random layers, for `skopeo copy oci:DIR:TAG` (R6).

Each layer is a tar holding one file of random bytes, gzip-wrapped at level 0 (stored blocks):
its media type is tar+gzip, so skopeo copies it as it is instead of compressing it on the way to
a registry, which would make skopeo's CPU, not the registries, the thing measured.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def goarch() -> str:
    """The host architecture in OCI (Go) terms."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _write_blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def _layer(index: int, size: int) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"layer{index}.bin")
        info.size, info.mode, info.mtime = size, 0o644, 0
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    diff_id = f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"
    return gzip.compress(tar_bytes, compresslevel=0, mtime=0), diff_id


def build_image(layout: Path, tag: str, layers: int, layer_size: int) -> int:
    """Write the layout (index.json, oci-layout, blobs); return the total bytes of its blobs."""
    layout.mkdir(parents=True, exist_ok=True)
    descriptors, diff_ids, total = [], [], 0
    for i in range(layers):
        blob, diff_id = _layer(i, layer_size)
        digest, size = _write_blob(layout, blob)
        descriptors.append({"mediaType": OCI_LAYER, "digest": digest, "size": size})
        diff_ids.append(diff_id)
        total += size
    config = json.dumps(
        {
            "architecture": goarch(),
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    config_digest, config_size = _write_blob(layout, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": descriptors,
        }
    ).encode()
    manifest_digest, manifest_size = _write_blob(layout, manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return total + config_size + manifest_size
