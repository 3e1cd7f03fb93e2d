"""OCI image layout directories for ``skopeo copy oci:DIR:TAG``: the bench's (R6) and the tests'.

``build_image`` writes N layers of random bytes, each a tar of one file gzip-wrapped at level 0
(stored blocks): its media type is tar+gzip, so skopeo copies it as it is instead of compressing
it on the way to a registry, which would make skopeo's CPU, not the registries, the thing
measured. ``write_image`` is the layout writer underneath, also used by the interop tests for
small deterministic images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def goarch() -> str:
    """The host architecture in OCI (Go) terms, so pulled images match the local platform."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


@dataclass(frozen=True)
class OciImage:
    """An image written as an OCI layout directory."""

    layout: Path
    tag: str
    manifest_digest: str
    layer_digests: tuple[str, ...]
    total_bytes: int  # of every blob: layers, config and manifest

    @property
    def ref(self) -> str:
        """The ``oci:`` transport reference for skopeo."""
        return f"oci:{self.layout}:{self.tag}"


def _write_blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def tar_layer(files: Mapping[str, bytes], *, compresslevel: int = 9) -> tuple[bytes, str]:
    """A deterministic (mtime 0) gzip'd tar of ``files``; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    diff_id = f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"
    return gzip.compress(tar_bytes, compresslevel=compresslevel, mtime=0), diff_id


def write_image(
    layout: Path,
    tag: str,
    layers: list[tuple[bytes, str]],
    *,
    cmd: list[str] | None = None,
) -> OciImage:
    """Write a layout (index.json, oci-layout, blobs) of one image from (blob, diff_id) layers."""
    layout.mkdir(parents=True, exist_ok=True)
    descriptors, total = [], 0
    for blob, _ in layers:
        digest, size = _write_blob(layout, blob)
        descriptors.append({"mediaType": OCI_LAYER, "digest": digest, "size": size})
        total += size
    config: dict[str, object] = {
        "architecture": goarch(),
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
    }
    if cmd is not None:
        config["config"] = {"Cmd": cmd}
    config_digest, config_size = _write_blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": descriptors,
    }
    manifest_digest, manifest_size = _write_blob(layout, json.dumps(manifest).encode())
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
    return OciImage(
        layout,
        tag,
        manifest_digest,
        tuple(str(d["digest"]) for d in descriptors),
        total + config_size + manifest_size,
    )


def build_image(layout: Path, tag: str, layers: int, layer_size: int) -> OciImage:
    """An image of ``layers`` random, incompressible layers of ``layer_size`` bytes each."""
    return write_image(
        layout,
        tag,
        [
            tar_layer({f"layer{i}.bin": os.urandom(layer_size)}, compresslevel=0)
            for i in range(layers)
        ],
    )
