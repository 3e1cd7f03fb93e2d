"""The client's address: the peer, or what a trusted proxy says in ``X-Forwarded-For``.

Throttling and the audit key on it, so it must not be forgeable: ``X-Forwarded-For`` is read
only when the peer is one of ``AUTHSVC_TRUSTED_PROXIES``, and then from the right, skipping the
trusted proxies themselves, because only the entries they appended can be believed (a client
can put anything at the left end). Pure code.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_FORWARDED_ENTRIES = 32


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) to trust; ValueError for one that does not parse."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The address to throttle and record for a request from ``peer`` (``""`` if unknown)."""
    if not peer:
        return ""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops[-MAX_FORWARDED_ENTRIES:]):
        if not hop:
            continue
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from the proxy chain: fall back to what we know
    return peer


def request_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """The client address of an aiohttp request."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)
