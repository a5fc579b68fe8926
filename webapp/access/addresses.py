"""The address a request came from, as far as it can be trusted: the connection's peer, or,
when that peer is one of the reverse proxies in PULT_TRUSTED_PROXIES, the hop that proxy
names in X-Forwarded-For, read right to left past every trusted hop. The left-most entries
are whatever the client chose to send and are never believed on their own."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from aiohttp import web

from webapp.keys import SERVICES

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def client_address(request: web.Request) -> str:
    forwarded = request.headers.getall("X-Forwarded-For", [])
    return resolve_client(request.remote, forwarded, request.app[SERVICES].trusted_proxies)


def resolve_client(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The right-most hop of `forwarded_for` + [peer] that is not a trusted proxy (all of
    them trusted: the left-most). An entry that is not an address ends the walk at the last
    trusted hop: what a proxy wrote is always an address, so the client wrote that one."""
    if peer is None:
        return UNKNOWN
    hop = _parse(peer)
    if hop is None or not _is_trusted(hop, trusted):
        return peer
    entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    for entry in reversed([entry for entry in entries if entry]):
        earlier = _parse(entry)
        if earlier is None:
            break
        hop = earlier
        if not _is_trusted(hop, trusted):
            break
    return str(hop)


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
