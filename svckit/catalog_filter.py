"""The catalog-filter claim: which repositories a filtered ``registry:catalog:*`` grant lists.

authsvc writes it into access tokens and the registry reads it back; it lives here, in a leaf
package, so that neither service imports the other and the two sides cannot drift.

Wire form: the private claim ``authsvc.catalog`` (RFC 7519 §4.3; the dotted name cannot collide
with Distribution's claims, which are the registered ones and ``access``) holds a list of lists
of strings::

    "authsvc.catalog": [["-secret/.*", "+.*"], ["+team/.*"]]

Each string is ``+`` (list the name) or ``-`` (hide it) followed by a regular expression (Python
``re`` syntax, matched against the whole repository name). Within one inner list the first entry
that matches decides, exactly as the ACL's first matching rule does, and a name that no entry
matches is hidden. A name is listed only if every inner list lists it: the first list is the
account's ACL, a further one a credential's scope caps. A token without the claim lists what
its ``access`` claim allows, as before; Distribution ignores the claim (Go's JSON decoder skips
unknown members), so such tokens work there too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

CLAIM = "authsvc.catalog"
SHOW, HIDE = "+", "-"
# The claim rides in every request's Authorization header; proxies commonly allow 8 KiB of
# headers (nginx large_client_header_buffers), so the claim stays well below that.
MAX_CLAIM_CHARS = 4096

Entry = tuple[bool, str]  # (shows, regex source)


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    """Ordered first-match lists of (shows, regex); a name is listed if every list shows it."""

    lists: tuple[tuple[Entry, ...], ...]
    _compiled: tuple[tuple[tuple[bool, re.Pattern[str]], ...], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Compile every pattern once (re.error when one is invalid)."""
        compiled = tuple(
            tuple((shows, re.compile(source, re.DOTALL)) for shows, source in entries)
            for entries in self.lists
        )
        object.__setattr__(self, "_compiled", compiled)

    def shows(self, name: str) -> bool:
        """True if the repository ``name`` is listed."""
        return all(_first_match(entries, name) for entries in self._compiled)

    def to_claim(self) -> list[list[str]]:
        """The claim's JSON value."""
        return [[(SHOW if s else HIDE) + source for s, source in entries] for entries in self.lists]

    def claim_size(self) -> int:
        """The length of the claim's compact JSON, which MAX_CLAIM_CHARS bounds."""
        return len(json.dumps(self.to_claim(), separators=(",", ":")))

    @classmethod
    def from_claim(cls, value: object) -> CatalogFilter:
        """Parse the claim's value; ValueError when it is not the form above."""
        if not isinstance(value, list) or not all(isinstance(item, list) for item in value):
            raise ValueError(f"{CLAIM} must be a list of lists")
        lists: list[tuple[Entry, ...]] = []
        for entries in value:
            parsed: list[Entry] = []
            for entry in entries:
                if not isinstance(entry, str) or entry[:1] not in (SHOW, HIDE):
                    raise ValueError(f"{CLAIM} entries must be strings starting with + or -")
                parsed.append((entry[0] == SHOW, entry[1:]))
            lists.append(tuple(parsed))
        try:
            return cls(tuple(lists))
        except re.error as exc:
            raise ValueError(f"{CLAIM} holds an invalid pattern: {exc}") from None


def _first_match(entries: Sequence[tuple[bool, re.Pattern[str]]], name: str) -> bool:
    for shows, pattern in entries:
        if pattern.fullmatch(name) is not None:
            return shows
    return False
