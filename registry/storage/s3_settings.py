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
    # None: path-style when regionendpoint is set (Distribution 2.8 always does that), else
    # virtual-hosted, as Distribution 3 and botocore choose.
    forcepathstyle: bool | None = None
    chunksize: int = DEFAULT_CHUNK_SIZE
    multipartcopychunksize: int = DEFAULT_MULTIPART_COPY_CHUNK_SIZE
    multipartcopymaxconcurrency: int = DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY
    multipartcopythresholdsize: int = DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE

    @property
    def path_style(self) -> bool:
        """Whether the bucket goes in the URL's path rather than its host name."""
        if self.forcepathstyle is None:
            return self.regionendpoint is not None
        return self.forcepathstyle
