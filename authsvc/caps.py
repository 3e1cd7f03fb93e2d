"""Scope caps: what a credential may be used for at most, whatever the ACL would allow.

A personal access token (and later a robot account) carries a list of caps such as
``repository:team/*:pull,push``. What a token request with it gets is the intersection of the
ACL's grant for the owner and the caps (GitHub's fine-grained tokens and Harbor's robot
permissions work the same way): a cap never adds access, it only takes some away. The name is
a pattern with the ACL's syntax (globs with ``*``, ``/regex/``), so caps and rules read alike.
Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from authsvc.acl import intersect, parse_actions
from authsvc.acl_patterns import Pattern, RuleError, compile_pattern
from authsvc.scope import Scope

MAX_CAPS = 32


class CapError(ValueError):
    """A cap does not follow ``type:name-pattern:actions``; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ScopeCap:
    """One cap: a resource type, a name pattern and the actions it leaves possible."""

    type: str
    name: Pattern
    actions: tuple[str, ...]

    @property
    def text(self) -> str:
        """The cap as it was written (normalised actions)."""
        return f"{self.type}:{self.name.text}:{','.join(self.actions)}"

    def allows(self, scope: Scope) -> tuple[str, ...]:
        """The requested actions of ``scope`` that this cap leaves possible."""
        if scope.type != self.type or not self.name.matches(scope.name):
            return ()
        return intersect(scope.actions, self.actions)


def parse_cap(text: str) -> ScopeCap:
    """Parse ``type:name:actions`` (the name may contain ``:``, as in ``host:5000/app``)."""
    first, last = text.find(":"), text.rfind(":")
    if first <= 0 or first == last:
        raise CapError(f"scope {text!r}: expected type:name:actions")
    kind, name, actions = text[:first], text[first + 1 : last], text[last + 1 :]
    if not kind.isascii() or not kind.isalnum():
        raise CapError(f"scope {text!r}: invalid resource type {kind!r}")
    try:
        pattern = compile_pattern(name, "scope name")
        parsed = parse_actions([actions])
    except RuleError as exc:
        raise CapError(f"scope {text!r}: {exc}") from None
    if not parsed:
        raise CapError(f"scope {text!r}: no actions")
    return ScopeCap(kind, pattern, parsed)


def parse_caps(texts: Iterable[str]) -> tuple[ScopeCap, ...]:
    """Parse caps given one per argument or separated by white space; at least one."""
    caps = tuple(parse_cap(item) for text in texts for item in text.split())
    if not caps:
        raise CapError("at least one scope is required")
    if len(caps) > MAX_CAPS:
        raise CapError(f"at most {MAX_CAPS} scopes")
    return caps


def format_caps(caps: Iterable[ScopeCap]) -> str:
    """The caps as one space-separated string (how they are stored and shown)."""
    return " ".join(cap.text for cap in caps)


def capped_actions(
    caps: Iterable[ScopeCap], scope: Scope, granted: tuple[str, ...]
) -> tuple[str, ...]:
    """``granted`` reduced to what some cap allows for ``scope``, in granted order."""
    allowed: set[str] = set()
    for cap in caps:
        allowed.update(cap.allows(scope))
    return tuple(action for action in granted if action in allowed)
