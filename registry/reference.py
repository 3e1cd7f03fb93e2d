"""Repository-name, tag and digest grammars of the OCI distribution spec ("Pulling manifests")."""

from __future__ import annotations

import re

# OCI distribution-spec §"Pulling manifests": <name> is
#   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
# Distribution writes the separator as (?:[._]|__|[-]*), which matches the same language.
# Every character class is spelled out in ASCII, so no Unicode letter or digit slips through.
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
NAME_PATTERN = rf"{PATH_COMPONENT}(?:/{PATH_COMPONENT})*"
NAME_RE = re.compile(NAME_PATTERN)

# <reference> as a tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
TAG_RE = re.compile(TAG_PATTERN)

# Distribution's reference.DigestRegexp, used by routes to tell a digest from a tag; the strict
# check (supported algorithm, hex length) is registry.digest.Digest.parse.
DIGEST_PATTERN = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
DIGEST_RE = re.compile(DIGEST_PATTERN)

# Distribution's reference.NameTotalLengthMax.
NAME_MAX_LENGTH = 255


def validate_name(name: str) -> str:
    """Return name if it is a valid repository name, else raise ValueError saying why."""
    if not name:
        raise ValueError("repository name must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"repository name must not be longer than {NAME_MAX_LENGTH} characters")
    if NAME_RE.fullmatch(name) is None:
        raise ValueError(
            f"invalid repository name {name!r}: expected lowercase path components "
            "[a-z0-9] joined by '.', '_', '__' or '-' and separated by '/'"
        )
    return name


def is_name(name: str) -> bool:
    """True if name is a valid repository name."""
    return len(name) <= NAME_MAX_LENGTH and NAME_RE.fullmatch(name) is not None


def is_tag(value: str) -> bool:
    """True if value is a valid tag."""
    return TAG_RE.fullmatch(value) is not None


def validate_tag(tag: str) -> str:
    """Return tag if valid, else raise ValueError."""
    if not is_tag(tag):
        raise ValueError(f"invalid tag {tag!r}: expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")
    return tag


def is_digest(value: str) -> bool:
    """True if value looks like a digest reference (not necessarily a supported one)."""
    return DIGEST_RE.fullmatch(value) is not None
