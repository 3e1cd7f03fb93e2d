"""The only module that knows the on-disk layout: Distribution's (registry/storage/paths.go).

Driver paths are absolute, `/`-separated and relative to the driver root (the configured
`rootdirectory`)::

    /docker/registry/v2/
        blobs/<alg>/<first 2 hex>/<hex>/data          blob bytes (content-addressable store)
        repositories/<name>/                          <name> may contain '/'
            _layers/<alg>/<hex>/link                  blob linked into the repo
            _manifests/
                revisions/<alg>/<hex>/link            manifest revision linked into the repo
                tags/<tag>/
                    current/link                      digest the tag points at now
                    index/<alg>/<hex>/link            every digest the tag has pointed at
            _uploads/<id>/
                data                                  bytes received so far
                startedat                             RFC 3339 UTC start time
                hashstates/<alg>/<offset>             (Distribution only; we ignore them)

A link file holds the digest string (`sha256:<hex>`) with no trailing newline.  Names starting
with `_` are reserved, which is why no repository path component may start with one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.digest import Digest
from registry.reference import validate_name, validate_tag

ROOT = "/docker/registry/v2"
LINK = "link"

# Distribution 2.8 accepts upload ids matching [a-zA-Z0-9-_.=]+; starting with an alphanumeric
# excludes "." and "..", which would escape the _uploads directory.
UPLOAD_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}")


def validate_upload_id(upload_id: str) -> str:
    """Return upload_id if it is safe as a single path component, else raise ValueError."""
    if UPLOAD_ID_RE.fullmatch(upload_id) is None:
        raise ValueError(f"invalid upload id {upload_id!r}")
    return upload_id


# The specs below are the cases of Distribution's pathFor. Three bases carry the shared fields and
# their validation, so that no spec can be built for a name, tag or upload id that would leave
# the repository's directory.


@dataclass(frozen=True, slots=True)
class _InRepository:
    name: str

    def __post_init__(self) -> None:
        validate_name(self.name)


@dataclass(frozen=True, slots=True)
class _InTag(_InRepository):
    tag: str

    def __post_init__(self) -> None:
        # Explicit base call: zero-argument super() fails in slotted dataclasses before 3.14.
        _InRepository.__post_init__(self)
        validate_tag(self.tag)


@dataclass(frozen=True, slots=True)
class _InUpload(_InRepository):
    upload_id: str

    def __post_init__(self) -> None:
        _InRepository.__post_init__(self)
        validate_upload_id(self.upload_id)


@dataclass(frozen=True, slots=True)
class RepositoriesRootPath:
    """Directory holding every repository."""


@dataclass(frozen=True, slots=True)
class RepositoryPath(_InRepository):
    """Directory of one repository."""


@dataclass(frozen=True, slots=True)
class BlobsRootPath:
    """Root of the global content-addressable store."""


@dataclass(frozen=True, slots=True)
class BlobPath:
    """Directory of one blob in the global store."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class BlobDataPath:
    """Data file of one blob in the global store."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class LayersPath(_InRepository):
    """Directory of the repository's blob links."""


@dataclass(frozen=True, slots=True)
class LayerPath(_InRepository):
    """Directory of one blob link in a repository."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class LayerLinkPath(_InRepository):
    """Link file making a blob visible in a repository."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class ManifestsPath(_InRepository):
    """The `_manifests` directory; its presence makes a repository listable."""


@dataclass(frozen=True, slots=True)
class ManifestRevisionsPath(_InRepository):
    """Directory of every manifest revision in a repository."""


@dataclass(frozen=True, slots=True)
class ManifestRevisionPath(_InRepository):
    """Directory of one manifest revision."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class ManifestRevisionLinkPath(_InRepository):
    """Link file making a manifest revision visible in a repository."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class TagsPath(_InRepository):
    """Directory of every tag in a repository."""


@dataclass(frozen=True, slots=True)
class TagPath(_InTag):
    """Directory of one tag."""


@dataclass(frozen=True, slots=True)
class TagCurrentLinkPath(_InTag):
    """Link file with the digest a tag currently points at."""


@dataclass(frozen=True, slots=True)
class TagIndexPath(_InTag):
    """Directory of every revision a tag has pointed at."""


@dataclass(frozen=True, slots=True)
class TagIndexEntryPath(_InTag):
    """Directory of one entry of a tag's index."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class TagIndexEntryLinkPath(_InTag):
    """Link file of one entry of a tag's index."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class UploadsPath(_InRepository):
    """Directory of a repository's upload sessions."""


@dataclass(frozen=True, slots=True)
class UploadPath(_InUpload):
    """Directory of one upload session."""


@dataclass(frozen=True, slots=True)
class UploadDataPath(_InUpload):
    """Bytes received so far by an upload session."""


@dataclass(frozen=True, slots=True)
class UploadStartedAtPath(_InUpload):
    """RFC 3339 start time of an upload session."""


PathSpec = (
    RepositoriesRootPath
    | RepositoryPath
    | BlobsRootPath
    | BlobPath
    | BlobDataPath
    | LayersPath
    | LayerPath
    | LayerLinkPath
    | ManifestsPath
    | ManifestRevisionsPath
    | ManifestRevisionPath
    | ManifestRevisionLinkPath
    | TagsPath
    | TagPath
    | TagCurrentLinkPath
    | TagIndexPath
    | TagIndexEntryPath
    | TagIndexEntryLinkPath
    | UploadsPath
    | UploadPath
    | UploadDataPath
    | UploadStartedAtPath
)


def _digest_dir(d: Digest) -> str:
    return f"{d.algorithm}/{d.hex}"


def path_for(spec: PathSpec) -> str:
    """Map a path spec to a driver path; the layout is drawn in the module docstring."""
    repos = f"{ROOT}/repositories"
    match spec:
        case RepositoriesRootPath():
            return repos
        case BlobsRootPath():
            return f"{ROOT}/blobs"
        case BlobPath(digest=d):
            return f"{ROOT}/blobs/{d.algorithm}/{d.hex[:2]}/{d.hex}"
        case BlobDataPath(digest=d):
            return f"{ROOT}/blobs/{d.algorithm}/{d.hex[:2]}/{d.hex}/data"
        case LayersPath(name=n):
            return f"{repos}/{n}/_layers"
        case LayerPath(name=n, digest=d):
            return f"{repos}/{n}/_layers/{_digest_dir(d)}"
        case LayerLinkPath(name=n, digest=d):
            return f"{repos}/{n}/_layers/{_digest_dir(d)}/{LINK}"
        case ManifestsPath(name=n):
            return f"{repos}/{n}/_manifests"
        case ManifestRevisionsPath(name=n):
            return f"{repos}/{n}/_manifests/revisions"
        case ManifestRevisionPath(name=n, digest=d):
            return f"{repos}/{n}/_manifests/revisions/{_digest_dir(d)}"
        case ManifestRevisionLinkPath(name=n, digest=d):
            return f"{repos}/{n}/_manifests/revisions/{_digest_dir(d)}/{LINK}"
        case TagsPath(name=n):
            return f"{repos}/{n}/_manifests/tags"
        case TagCurrentLinkPath(name=n, tag=t):
            return f"{repos}/{n}/_manifests/tags/{t}/current/{LINK}"
        case TagIndexPath(name=n, tag=t):
            return f"{repos}/{n}/_manifests/tags/{t}/index"
        case TagIndexEntryPath(name=n, tag=t, digest=d):
            return f"{repos}/{n}/_manifests/tags/{t}/index/{_digest_dir(d)}"
        case TagIndexEntryLinkPath(name=n, tag=t, digest=d):
            return f"{repos}/{n}/_manifests/tags/{t}/index/{_digest_dir(d)}/{LINK}"
        case TagPath(name=n, tag=t):
            return f"{repos}/{n}/_manifests/tags/{t}"
        case UploadsPath(name=n):
            return f"{repos}/{n}/_uploads"
        case UploadDataPath(name=n, upload_id=i):
            return f"{repos}/{n}/_uploads/{i}/data"
        case UploadStartedAtPath(name=n, upload_id=i):
            return f"{repos}/{n}/_uploads/{i}/startedat"
        case UploadPath(name=n, upload_id=i):
            return f"{repos}/{n}/_uploads/{i}"
        case RepositoryPath(name=n):
            return f"{repos}/{n}"
    raise TypeError(f"unknown path spec {spec!r}")


def basename(path: str) -> str:
    """Last component of a driver path."""
    return path.rsplit("/", 1)[-1]


def parse_link_path(path: str) -> Digest | None:
    """Digest of a `.../<alg>/<hex>/link` path (layer, revision or tag-index link), else None."""
    parts = path.rsplit("/", 3)
    if len(parts) != 4 or parts[3] != LINK:
        return None
    try:
        return Digest(parts[1], parts[2])
    except ValueError:
        return None


def parse_blob_data_path(path: str) -> Digest | None:
    """Digest of a `blobs/<alg>/<2 hex>/<hex>/data` path, else None."""
    prefix = f"{ROOT}/blobs/"
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix) :].split("/")
    if len(parts) != 4 or parts[3] != "data":
        return None
    try:
        digest = Digest(parts[0], parts[2])
    except ValueError:
        return None
    return digest if parts[1] == digest.hex[:2] else None
