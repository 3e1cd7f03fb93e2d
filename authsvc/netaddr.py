"""The client address of a request: the peer, or what a trusted proxy says in X-Forwarded-For.

Throttling and the audit key on this address, so it must not be forgeable: X-Forwarded-For is
read only when the peer is one of ``AUTHSVC_TRUSTED_PROXIES``, and then from the right, skipping
every hop that is itself a trusted proxy (the left-most entries are whatever the client sent).
This is the rule of nginx's ``real_ip_recursive on``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Sequence[str]) -> tuple[IPNetwork, ...]:
    """The networks of validated CIDR strings (``authsvc.config`` has checked them)."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port" (RFC 7239 style)
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[IPNetwork]
) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: tuple[IPNetwork, ...]
) -> str:
    """The client's address as text (``"unknown"`` when the peer has none, a Unix socket).

    ``forwarded_for`` holds every X-Forwarded-For header value in order (a proxy may add a
    second header rather than append to the first).
    """
    address = _address(peer or "")
    if address is None:
        return "unknown"
    if not trusted or not _trusted(address, trusted):
        return str(address)
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            # A garbled hop: the last address vouched for is the proxy that passed it on.
            return str(address)
        address = parsed
        if not _trusted(address, trusted):
            return str(address)
    return str(address)
