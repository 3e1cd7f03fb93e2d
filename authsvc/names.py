"""User and group names: one canonical form, so that lookups and ACL patterns agree.

Names are normalised to Unicode NFKC, so that visually identical spellings (full-width letters,
ligatures) name the same account. Names starting with ``@`` are reserved for built-in accounts
such as ``@anonymous``, the identity that ACL rules give to requests without credentials (the
``account: ""`` of docker_auth's ``authz/acl.go``), so that no user can be created under it. A
``:`` cannot appear in a user name because HTTP Basic credentials split user and password at the
first colon (RFC 7617 §2).
"""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255
RESERVED_PREFIX = "@"

# Cc: C0/C1 controls; Cs: lone surrogates; Zl/Zp: line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _normalize(value: str, kind: str) -> str:
    name = unicodedata.normalize("NFKC", value)
    if not name:
        raise ValueError(f"{kind} name must not be empty")
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"{kind} name {value!r} contains a control character")
    if name != name.strip():
        raise ValueError(f"{kind} name {value!r} must not start or end with white space")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(f"{kind} name is longer than {MAX_NAME_BYTES} bytes")
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(f"{kind} name {value!r} is reserved: names starting with '@' are built-in")
    return name


def normalize_username(value: str) -> str:
    """Return the canonical (NFKC) user name, or raise ValueError saying what is wrong with it."""
    name = _normalize(value, "user")
    if ":" in name:
        # RFC 7617 §2: the user-id of Basic credentials cannot contain a colon.
        raise ValueError(f"user name {value!r} must not contain ':'")
    return name


def normalize_group_name(value: str) -> str:
    """Return the canonical (NFKC) group name, or raise ValueError saying what is wrong with it."""
    return _normalize(value, "group")
