"""Who is calling: the client's address, through trusted reverse proxies only.

The client is the socket peer, unless the peer is a trusted proxy
(``COPROD_TRUSTED_PROXIES``). Then the forwarded-for chain (``X-Forwarded-For``, or RFC 7239
``Forwarded`` if ``COPROD_FORWARDED_HEADER`` says so) is read from the right, the end each
proxy appended to, skipping trusted addresses: the first untrusted address is the client.
Entries to its left were written by the client itself and are never read, so a spoofed header
cannot choose an identity. Only one header is read (the one the proxy writes), because a client
can send the other one unchanged through most proxies.

Addresses become budget keys with :func:`client_key`: IPv6 clients are grouped by /64, the block
one host or home usually receives, so a single host cannot draw a fresh budget per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from coprod_kg.errors import BadInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The forwarded-for headers a proxy may be configured to write.
FORWARDED_HEADERS = ("x-forwarded-for", "forwarded")


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks; an empty text trusts nobody.

    >>> [str(n) for n in parse_networks("10.0.0.0/8, ::1")]
    ['10.0.0.0/8', '::1/128']
    """
    networks = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise BadInput(f"COPROD_TRUSTED_PROXIES: {item!r} is not an address or a CIDR "
                           "block") from exc
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``,
    quoted or not); ``None`` for anything else (``unknown``, ``_hidden``, garbage).

    >>> parse_address('"[2001:db8::1]:8080"')
    IPv6Address('2001:db8::1')
    """
    text = text.strip().strip('"').strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1:] and not text[end + 1:].startswith(":")):
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(str(address).partition("%")[0])
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def _split_quoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (RFC 7239 quoted-strings may hold commas)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def forwarded_for(header: str, values: Iterable[str]) -> list[str]:
    """The forwarded-for entries of all lines of ``header``, left to right.

    >>> forwarded_for("forwarded", ['for=192.0.2.1;proto=https, For="[::1]:80"'])
    ['192.0.2.1', '"[::1]:80"']
    """
    joined = ",".join(values)
    if header == "x-forwarded-for":
        return [entry.strip() for entry in joined.split(",")]
    entries = []
    for element in _split_quoted(joined, ","):
        found = ""  # an element without for= is still a hop we cannot attribute
        for pair in _split_quoted(element, ";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                found = value.strip()
        entries.append(found)
    return entries


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str | None, entries: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """The client behind ``peer``: itself, unless it is a trusted proxy (see the module).

    ``entries`` are the forwarded-for values, left to right. Walking from the right stops at
    the first untrusted address (the client), or at the first entry that is not an address:
    then the client is the last address reached (a garbled header never picks an identity).

    >>> nets = parse_networks("10.0.0.0/8")
    >>> client_address("10.0.0.2", ["6.6.6.6", "203.0.113.9", "10.0.0.1"], nets)
    '203.0.113.9'
    >>> client_address("198.51.100.7", ["6.6.6.6"], nets)
    '198.51.100.7'
    """
    if peer is None:
        return "unknown"
    current = parse_address(peer)
    if current is None or not _trusted(current, trusted):
        return str(current) if current is not None else peer
    for entry in reversed(entries):
        address = parse_address(entry)
        if address is None:
            break
        current = address
        if not _trusted(current, trusted):
            break
    return str(current)


def client_key(address: str) -> str:
    """The budget key of an address: IPv4 as it is, IPv6 by its /64, anything else verbatim.

    >>> client_key("2001:db8:1:2:3:4:5:6")
    '2001:db8:1:2::/64'
    """
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address
