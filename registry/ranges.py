"""Which ``Range`` requests the blob handler answers itself (RFC 9110 §14): pure code.

aiohttp's file response serves single ranges correctly but departs from RFC 9110 in two cases,
so those are decided here before it sees the request:

- a suffix range of length zero (``bytes=-0``) selects nothing: it is unsatisfiable (§14.1.1,
  "a suffix-length of zero ... is unsatisfiable"), 416, where aiohttp sends the whole blob as 206;
- several ranges (``bytes=0-9,20-29``): aiohttp answers 416 even when all are satisfiable. A
  server may ignore a Range header (§14.2), so the whole blob is sent with 200, which every
  client handles; multipart/byteranges is not worth its complexity for layer pulls.
"""

from __future__ import annotations

from enum import Enum


class RangePlan(Enum):
    """How to answer a blob GET given its Range header."""

    AS_REQUESTED = "as requested"  # no Range, or one range: the file response handles it
    WHOLE = "whole"  # ignore the Range header: 200 with every byte
    UNSATISFIABLE = "unsatisfiable"  # 416 with Content-Range: bytes */size


def plan(header: str | None) -> RangePlan:
    """Decide from the raw header; malformed headers are left to the file response (§14.2)."""
    if header is None:
        return RangePlan.AS_REQUESTED
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes":
        return RangePlan.AS_REQUESTED
    ranges = [part.strip() for part in spec.split(",") if part.strip()]
    if len(ranges) > 1:
        return RangePlan.WHOLE
    if len(ranges) == 1 and ranges[0].startswith("-"):
        digits = ranges[0][1:].strip()
        if digits.isdigit() and int(digits) == 0:
            return RangePlan.UNSATISFIABLE
    return RangePlan.AS_REQUESTED


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The [start, end) that a single-range header selects of `size` bytes (RFC 9110 §14.1.2).

    None means "send everything with 200" (no header, another unit, several ranges, or a
    malformed header, which §14.2 lets a server ignore); an unsatisfiable range raises
    ValueError. Used where no file response does the work (blobs streamed from S3).
    """
    if header is None or plan(header) is RangePlan.WHOLE:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes":
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise ValueError("unsatisfiable suffix range")
        return max(size - suffix, 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # invalid range-spec: ignored (§14.1.1)
    if start >= size:
        raise ValueError("range starts past the end")
    return start, end
