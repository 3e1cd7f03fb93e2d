"""Pure manifest parsing and validation: Docker schema 2, manifest lists, OCI manifests, indexes.

What a PUT must satisfy (OCI distribution spec "Pushing Manifests", image-spec manifest.md and
image-index.md, Distribution's schema2/manifestlist/ocischema handlers):
- UTF-8 JSON object, `schemaVersion` 2; schema 1 is refused with a clear message;
- the media type comes from Content-Type, and a `mediaType` in the body must agree with it
  (Docker types require it); with no usable Content-Type the body's `mediaType` decides;
- the body has the shape of its type (config+layers for manifests, manifests for indexes);
- every descriptor has a media type, a supported digest and a non-negative integer size;
- `subject` and `artifactType` (image-spec v1.1 artifacts) are optional and checked for shape.
No I/O here: the handler checks that referenced blobs and manifests exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from registry.digest import Digest

# Distribution reads at most 4 MiB of a manifest PUT (handlers/manifests.go).
MAX_MANIFEST_SIZE = 4 << 20

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MANIFEST_TYPES = IMAGE_MANIFEST_TYPES | INDEX_TYPES
SCHEMA1_TYPES = frozenset({SCHEMA1_MANIFEST, SCHEMA1_SIGNED_MANIFEST})
# Content types that say nothing about the manifest type; the body's mediaType decides.
_GENERIC_TYPES = frozenset({"", "application/json", "application/octet-stream"})
# Layers that may live elsewhere (`urls`); Distribution does not require them to be pushed.
FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)

SCHEMA1_UNSUPPORTED = (
    "schema 1 is not supported: push a Docker schema 2 or OCI manifest instead "
    "(Docker schema 1 is deprecated and was removed from Distribution)"
)


class ManifestError(ValueError):
    """The manifest is invalid; the message says why (answered as MANIFEST_INVALID)."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor (image-spec descriptor.md), the fields the registry uses."""

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest or index."""

    media_type: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = field(default=None, compare=False)

    def blob_references(self) -> list[Descriptor]:
        """Blobs that must be in the repository: config and layers, except foreign layers."""
        refs = [self.config] if self.config is not None else []
        refs.extend(
            layer
            for layer in self.layers
            if not (layer.media_type in FOREIGN_LAYER_TYPES and layer.urls)
        )
        return refs

    def manifest_references(self) -> list[Descriptor]:
        """Manifests an index points at; they must be in the repository."""
        return list(self.manifests)

    @property
    def referrer_artifact_type(self) -> str | None:
        """`artifactType` of this manifest in a referrers list (image-spec: else config type)."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config is not None else None


def normalize_content_type(value: str | None) -> str:
    """Media type without parameters, lower-cased ("" when absent)."""
    return (value or "").split(";", 1)[0].strip().lower()


def _load(content: bytes) -> dict[str, object]:
    try:
        doc = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError("the manifest is not UTF-8") from None
    except ValueError as exc:
        raise ManifestError(f"the manifest is not valid JSON: {exc}") from None
    except RecursionError:
        # json.loads recurses per nesting level; "[" repeated 100,000 times exhausts the
        # interpreter's stack. No manifest nests more than a few levels.
        raise ManifestError("the manifest nests JSON too deeply") from None
    if not isinstance(doc, dict):
        raise ManifestError("the manifest must be a JSON object")
    return doc


def _string(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{where} must be a non-empty string")
    return value


def _annotations(value: object, where: str) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestError(f"{where} must be a map of strings to strings")
    return value


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be a descriptor object")
    media_type = _string(value.get("mediaType"), f"{where}.mediaType", required=True)
    raw_digest = value.get("digest")
    if not isinstance(raw_digest, str):
        raise ManifestError(f"{where}.digest must be a string")
    try:
        digest = Digest.parse(raw_digest)
    except ValueError as exc:
        raise ManifestError(f"{where}.digest: {exc}") from None
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where}.size must be a non-negative integer")
    urls = value.get("urls")
    if urls is not None and (
        not isinstance(urls, list) or not all(isinstance(u, str) for u in urls)
    ):
        raise ManifestError(f"{where}.urls must be a list of strings")
    return Descriptor(
        media_type=str(media_type),
        digest=digest,
        size=size,
        urls=tuple(urls or ()),
        artifact_type=_string(value.get("artifactType"), f"{where}.artifactType"),
        annotations=_annotations(value.get("annotations"), f"{where}.annotations"),
    )


def _descriptors(value: object, where: str) -> tuple[Descriptor, ...]:
    if not isinstance(value, list):
        raise ManifestError(f"{where} must be a list of descriptors")
    return tuple(_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value))


def _media_type(doc: Mapping[str, object], content_type: str | None) -> str:
    """The manifest's type from Content-Type and the body, checking that they agree."""
    declared = normalize_content_type(content_type)
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise ManifestError("mediaType must be a string")
    version = doc.get("schemaVersion")
    schema1 = version == 1 and not isinstance(version, bool)
    if declared in SCHEMA1_TYPES or body_type in SCHEMA1_TYPES or schema1:
        raise ManifestError(SCHEMA1_UNSUPPORTED)
    if declared in MANIFEST_TYPES:
        if body_type is not None and body_type != declared:
            raise ManifestError(
                f"mediaType {body_type!r} in the manifest does not match Content-Type {declared!r}"
            )
        if body_type is None and declared in (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST):
            raise ManifestError(f"mediaType is required in a {declared} manifest")
        return declared
    if declared not in _GENERIC_TYPES:
        raise ManifestError(f"unsupported manifest media type {declared!r}")
    if body_type is None:
        # image-spec lets OCI manifests omit mediaType; the shape tells them apart.
        if "manifests" in doc:
            return OCI_INDEX
        if "config" in doc:
            return OCI_MANIFEST
        raise ManifestError("cannot tell the manifest type: no Content-Type and no mediaType")
    if body_type not in MANIFEST_TYPES:
        raise ManifestError(f"unsupported manifest media type {body_type!r}")
    return body_type


def parse_manifest(content: bytes, content_type: str | None = None) -> Manifest:
    """Validate a pushed manifest and return its parsed form (ManifestError if invalid)."""
    doc = _load(content)
    media_type = _media_type(doc, content_type)
    version = doc.get("schemaVersion")
    if version != 2 or isinstance(version, bool):
        raise ManifestError(f"schemaVersion must be 2, got {version!r}")
    raw_subject = doc.get("subject")
    subject = _descriptor(raw_subject, "subject") if raw_subject is not None else None
    artifact_type = _string(doc.get("artifactType"), "artifactType")
    annotations = _annotations(doc.get("annotations"), "annotations")
    if media_type in INDEX_TYPES:
        for key in ("config", "layers"):
            if key in doc:
                raise ManifestError(f"an index ({media_type}) has no {key!r}; is it a manifest?")
        return Manifest(
            media_type=media_type,
            manifests=_descriptors(doc.get("manifests"), "manifests"),
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )
    if "manifests" in doc:
        raise ManifestError(f"an image manifest ({media_type}) has no 'manifests'; is it an index?")
    if "config" not in doc:
        raise ManifestError("config is required in an image manifest")
    return Manifest(
        media_type=media_type,
        config=_descriptor(doc["config"], "config"),
        layers=_descriptors(doc.get("layers"), "layers"),
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
    )


def sniff_media_type(content: bytes) -> str:
    """Content-Type to serve stored manifest bytes with (lenient: any tree Distribution wrote)."""
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError):
        return "application/octet-stream"
    if not isinstance(doc, dict):
        return "application/json"
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and media_type:
        return media_type
    if doc.get("schemaVersion") == 1:
        return SCHEMA1_SIGNED_MANIFEST if "signatures" in doc else SCHEMA1_MANIFEST
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc:
        return OCI_MANIFEST
    return "application/json"


def accepts(media_type: str, accept_values: Iterable[str]) -> bool:
    """True if any Accept header value admits media_type (no Accept header admits anything).

    Clients list the manifest types they understand (spec "Pulling manifests"); a registry
    must not send a type that the client did not ask for.
    """
    seen = False
    for header in accept_values:
        for item in header.split(","):
            accepted = normalize_content_type(item)
            if not accepted:
                continue
            seen = True
            if accepted in (media_type, "*/*", "application/*"):
                return True
    return not seen
