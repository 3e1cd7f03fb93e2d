"""Resource scopes of the Docker token protocol: parse and format ``type[(class)]:name:actions``.

The grammar is distribution's ``docs/spec/auth/scope.md``::

    resourcescope     := resourcetype ":" resourcename ":" action [ "," action ]*
    resourcetype      := resourcetypevalue [ "(" resourcetypevalue ")" ]
    resourcetypevalue := /[a-z0-9]+/
    resourcename      := [ hostname "/" ] component [ "/" component ]*
    hostname          := hostcomponent [ "." hostcomponent ]* [ ":" port-number ]
    component         := alpha-numeric [ separator alpha-numeric ]*
    separator         := /[_.]|__|[-]*/
    action            := /[a-z]*/

Because the name may carry one ``host:port`` part, the type ends at the first ``:`` and the
actions start after the last one. The resource class (``repository(plugin)``) is accepted and
ignored, as distribution's own token server does. ``*`` is accepted as an action because
``registry:catalog:*`` is how clients ask for the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from svckit.cache import memoized

# Distribution's reference package caps a repository name at 255 characters.
MAX_NAME_LENGTH = 255
# Distribution's clients ask for a handful of scopes per token (a pull, a push with its mount
# sources); far more is not a client but a probe, and every scope costs an ACL evaluation.
MAX_SCOPES = 100

_TYPE_RE = re.compile(r"([a-z0-9]+)(?:\(([a-z0-9]+)\))?")
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOSTNAME = rf"{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"(?:{_HOSTNAME}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_ACTION_RE = re.compile(r"[a-z]+|\*")


class ScopeError(ValueError):
    """A scope string does not follow the grammar; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class Scope:
    """One requested resource: its type, its name and the actions asked for, in order."""

    type: str
    name: str
    actions: tuple[str, ...]


def parse_scope(text: str) -> Scope:
    """Parse one ``type[(class)]:name:action[,action...]`` scope; raise ScopeError if malformed."""
    first = text.find(":")
    last = text.rfind(":")
    if first < 0 or first == last:
        raise ScopeError(f"malformed scope {text!r}: expected type:name:actions")
    type_part, name, actions_part = text[:first], text[first + 1 : last], text[last + 1 :]
    type_match = _TYPE_RE.fullmatch(type_part)
    if type_match is None:
        raise ScopeError(f"malformed scope {text!r}: invalid resource type {type_part!r}")
    if not name or len(name) > MAX_NAME_LENGTH or _NAME_RE.fullmatch(name) is None:
        raise ScopeError(f"malformed scope {text!r}: invalid resource name {name!r}")
    actions: list[str] = []
    for action in actions_part.split(","):
        if not action:
            continue  # `pull,,push` or a trailing comma: nothing was asked for there
        if _ACTION_RE.fullmatch(action) is None:
            raise ScopeError(f"malformed scope {text!r}: invalid action {action!r}")
        if action not in actions:
            actions.append(action)
    if not actions:
        raise ScopeError(f"malformed scope {text!r}: no actions")
    return Scope(type_match.group(1), name, tuple(actions))


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse scope parameters; each value may hold several scopes separated by spaces."""
    return [parse_scope(part) for value in values for part in value.split()]


def format_scope(scope: Scope) -> str:
    """Render a scope in the wire form ``type:name:a,b`` (the class is not kept)."""
    return f"{scope.type}:{scope.name}:{','.join(scope.actions)}"


def parse_requested_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Parse the scope parameters of one token request; at most ``MAX_SCOPES`` scopes.

    Repeated ``scope`` parameters and space-joined values are both accepted (distribution
    ``docs/spec/auth/token.md`` and RFC 6749 §3.3). Raises ScopeError.
    """
    scopes = _parse_memoized(tuple(v for v in values if v.strip()))
    if len(scopes) > MAX_SCOPES:
        raise ScopeError(f"too many scopes (at most {MAX_SCOPES})")
    return scopes


@memoized(max_entries=4096)
def _parse_memoized(values: tuple[str, ...]) -> tuple[Scope, ...]:
    # Clients repeat the same few scope strings; parsing is pure, so recent results are kept
    # (errors are not kept and are raised again).
    return tuple(parse_scopes(values))
