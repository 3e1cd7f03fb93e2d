"""Settings of the S3 driver: Distribution's ``storage.s3`` keys (no client imported here)."""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_CHUNK_SIZE = 5 << 20  # S3's smallest part other than the last (Distribution's minChunkSize)
DEFAULT_CHUNK_SIZE = 10 << 20  # Distribution's defaultChunkSize
DEFAULT_MULTIPART_COPY_CHUNK_SIZE = 32 << 20  # Distribution's defaultMultipartCopyChunkSize
DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 100
DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE = 32 << 20


@dataclass(frozen=True, slots=True)
class S3Settings:
    """The ``storage.s3`` keys this registry implements (registry/CONFIG.md)."""

    bucket: str
    region: str = "us-east-1"
    regionendpoint: str | None = None
    accesskey: str | None = None
    secretkey: str | None = field(default=None, repr=False)
    rootdirectory: str = ""
    secure: bool = True
    forcepathstyle: bool = False
    chunksize: int = DEFAULT_CHUNK_SIZE
    multipartcopychunksize: int = DEFAULT_MULTIPART_COPY_CHUNK_SIZE
    multipartcopymaxconcurrency: int = DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY
    multipartcopythresholdsize: int = DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE
