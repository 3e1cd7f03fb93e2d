"""Fuzz targets: each feeds arbitrary input to one parser and fails on anything but its own error.

The parsers are the ones an attacker reaches without credentials or with any credentials: the
scope grammar (every token request), repository names and digests (every registry URL) and
manifests (every push). A target passes when the parser returns a value or raises its
documented error; any other exception, or a value that does not survive a round trip, is a bug.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import strategies as st

from authsvc.scope import ScopeError, format_scope, parse_scope
from registry.digest import Digest
from registry.manifest import ManifestError, parse_manifest
from registry.reference import is_digest, is_name, is_tag

# Text near the grammar finds more than uniform noise: scope-like pieces glued at random.
_SCOPE_PIECES = st.sampled_from(
    [
        "repository", "registry", "repository(plugin)", ":", ",", "pull", "push", "*", "delete",
        "team/app", "a", "..", "%2e", "//", "host.example:5000/", "UPPER", "-", "_", ".", " ",
        "\x00", "é", "catalog", "/", "a" * 300,
    ]
)  # fmt: skip
SCOPES = st.one_of(st.text(max_size=300), st.lists(_SCOPE_PIECES, max_size=12).map("".join))

_JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=15), inner, max_size=6)
    ),
    max_leaves=30,
)
_MANIFEST_KEYS = st.sampled_from(
    ["schemaVersion", "mediaType", "config", "layers", "manifests", "subject", "artifactType",
     "annotations", "digest", "size", "urls", "platform"]
)  # fmt: skip
_MANIFEST_LIKE = st.dictionaries(_MANIFEST_KEYS, _JSON, max_size=8).map(
    lambda d: json.dumps(d).encode()
)
MANIFESTS = st.one_of(
    st.binary(max_size=2000), _MANIFEST_LIKE, _JSON.map(lambda v: json.dumps(v).encode())
)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/json",
        ]
    ),
    st.text(max_size=60),
)


def scope_target(text: str) -> None:
    """parse_scope returns a Scope that formats and re-parses to itself, or raises ScopeError."""
    try:
        scope = parse_scope(text)
    except ScopeError:
        return
    assert parse_scope(format_scope(scope)) == scope


def manifest_target(content: bytes, content_type: str | None) -> None:
    """parse_manifest returns a Manifest or raises ManifestError, whatever the bytes."""
    try:
        manifest = parse_manifest(content, content_type)
    except ManifestError:
        return
    for desc in [*manifest.blob_references(), *manifest.manifest_references()]:
        assert desc.size >= 0


def name_and_digest_target(text: str) -> None:
    """Names and digests are accepted or refused with ValueError, never anything else."""
    is_name(text)
    is_tag(text)
    is_digest(text)
    try:
        digest = Digest.parse(text)
    except ValueError:
        return
    assert str(digest) == text


TARGETS: dict[str, tuple[Callable[..., None], tuple[st.SearchStrategy[object], ...]]] = {
    "scope": (scope_target, (SCOPES,)),
    "manifest": (manifest_target, (MANIFESTS, CONTENT_TYPES)),
    "name-digest": (name_and_digest_target, (st.one_of(st.text(max_size=300), SCOPES),)),
}
