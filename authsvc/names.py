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

from svckit.cache import memoized

MAX_NAME_BYTES = 255
RESERVED_PREFIX = "@"

# Cc: C0/C1 controls; Cs: lone surrogates; Zl/Zp: line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Cf: format characters (zero-width spaces and joiners, bidi overrides) render as nothing;
# Co/Cn: private-use and unassigned code points render as anyone's guess.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn"})
# The script mixes that Unicode TS #39 §5.2 ("highly restrictive") accepts, since people write
# names that way (Japanese mixes kanji and kana); Latin with Cyrillic or Greek is not among them.
_SCRIPT_MIXES = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)


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


def _scripts(name: str) -> set[str]:
    """The scripts of the letters in ``name`` (the first word of each letter's Unicode name)."""
    scripts = set()
    for char in name:
        if unicodedata.category(char).startswith("L"):
            scripts.add(unicodedata.name(char, "UNKNOWN").split(" ")[0])
    return scripts


# Memoised: every token request normalises the presented name, often more than once.
@memoized(4096)
def normalize_username(value: str) -> str:
    """Return the canonical (NFKC) user name, or raise ValueError saying what is wrong with it.

    Beyond the rules for every name, a user name is the ``${account}`` of ACL rules and the
    ``sub`` of tokens, so it must not be able to pass for another: no ``/`` (``alice/ci``
    would fall inside a ``${account}/*`` rule for ``alice``), no invisible characters (a
    zero-width space makes ``alice\u200b`` look like ``alice``), and no letters from two
    scripts (Cyrillic ``а`` in ``аlice``), the mixed-script confusables of Unicode TS #39 §5.
    """
    name = _normalize(value, "user")
    if ":" in name:
        # RFC 7617 §2: the user-id of Basic credentials cannot contain a colon.
        raise ValueError(f"user name {value!r} must not contain ':'")
    if "/" in name:
        raise ValueError(f"user name {value!r} must not contain '/' (the repository separator)")
    for char in name:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise ValueError(f"user name {value!r} contains an invisible character")
    scripts = _scripts(name)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES):
        listed = ", ".join(sorted(scripts)).lower()
        raise ValueError(f"user name {value!r} mixes letters of several scripts ({listed})")
    return name


def normalize_group_name(value: str) -> str:
    """Return the canonical (NFKC) group name, or raise ValueError saying what is wrong with it."""
    return _normalize(value, "group")
