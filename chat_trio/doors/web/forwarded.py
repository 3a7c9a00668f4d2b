"""The client's address behind HTTP proxies: ``X-Forwarded-For`` and ``Forwarded``
(RFC 7239), read only where the peer is a trusted proxy. Sans-I/O.

Rules:

1. Each proxy appends the address it got the request from, so the list ends with the
   hops nearest to us. Walk it from the right, starting at the socket's peer: while the
   address in hand is a trusted proxy, the entry to its left is the one it wrote, so
   take it. The first address that is not trusted is the client. Entries further left
   were written by the client itself (or by hops nobody vouches for) and anyone can put
   anything there: the left-most entry is what an attacker chooses, the right-most
   untrusted one is what our own proxy saw.
2. From a peer that is not trusted, neither header counts: the peer is the client.
3. An entry that a trusted proxy wrote and that is not an address (``unknown``, an
   obfuscated ``_name``, garbage) refuses the request (``Unknown``). Falling back to the
   proxy's own address would let a client that can garble its entry (an unclosed quote
   in a ``Forwarded`` it sends, which a proxy then extends) pass as the proxy: out of
   reach of its own bans and limits, and loopback is exempt from them by default.
4. Where both headers are present they must name the same client. Our proxy appends to
   one of them; the other came from further out, maybe from the client, and we cannot
   tell which is which. Taking either when they disagree would let a client choose its
   own address; the request is refused instead (``Disagree``).

A refused request hurts only the client that sent what made it so.

Bounded by the request head's own bound (``site.MAX_HEAD``).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chat_trio.doors.proxy import Source, Trusted, ip


class Unknown(ValueError):
    """A trusted proxy's entry is not an address; the message says which."""


class Disagree(ValueError):
    """X-Forwarded-For and Forwarded name different clients; the message says which."""


def client(peer: Source, headers: Iterable[tuple[bytes, bytes]], trusted: Trusted) -> Source:
    """The client of a request that came from ``peer`` with ``headers`` (rules above).

    Raises:
      Unknown: an entry a trusted proxy wrote is not an address (rule 3).
      Disagree: both headers are present and name different clients (rule 4).
    """
    if not trusted.trusts(peer.host):
        return peer
    xff: list[str] = []
    fwd: list[str] = []
    for name, value in headers:  # several lines of one header are one list, in order
        if name.lower() == b"x-forwarded-for":
            xff += value.decode("latin-1").split(",")
        elif name.lower() == b"forwarded":
            fwd += _fors(value.decode("latin-1"))
    walked = [
        _walk(peer, entries, trusted, header)
        for entries, header in ((xff, "X-Forwarded-For"), (fwd, "Forwarded"))
        if entries
    ]
    if len(walked) == 2 and walked[0].host != walked[1].host:
        raise Disagree(
            f"X-Forwarded-For names {walked[0].host} and Forwarded names "
            f"{walked[1].host} as the client"
        )
    return walked[0] if walked else peer


def _walk(peer: Source, entries: list[str], trusted: Trusted, header: str) -> Source:
    here = peer
    for entry in reversed(entries):
        if not trusted.trusts(here.host):
            break
        node = _node(entry.strip())
        if node is None:
            shown = repr(entry.strip()[:60]) if entry.strip() else "an empty entry"
            raise Unknown(f"{header}: {here.host} forwarded for {shown}, not an address")
        here = node
    return here


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PAIR = re.compile(rf'[ \t]*({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")[ \t]*')
"""One ``name=value`` of RFC 7239 (value: a token, or a quoted string)."""


def _fors(line: str) -> list[str]:
    """The ``for=`` node of each element of one Forwarded line ("" where it has none).

    The whole line must follow RFC 7239's grammar (elements split by ``,``, pairs by
    ``;``). Skipping what does not parse would let an unclosed quote the client sent
    swallow the element our proxy appended after it, and the client would choose its
    address (rule 3).

    Raises:
      Unknown: the line does not parse.
    """
    fors: list[str] = []
    node, pos, end = "", 0, len(line)
    while True:
        pair = _PAIR.match(line, pos)
        if pair is not None:
            name, value = pair[1], pair[2]
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            if name.lower() == "for":
                node = value
            pos = pair.end()
        else:  # an empty pair or element: allowed
            while pos < end and line[pos] in " \t":
                pos += 1
        if pos == end:
            return [*fors, node]
        if line[pos] == ",":
            fors.append(node)
            node = ""
        elif line[pos] != ";":
            raise Unknown(f"Forwarded: {line[:60]!r} is not a list of name=value pairs")
        pos += 1


_NODE = re.compile(
    r"^\[(?P<v6>[^\]]+)\](?::(?P<port6>\d{1,5}))?$|^(?P<v4>[\d.]+):(?P<port4>\d{1,5})$"
)


def _node(text: str) -> Source | None:
    """An address as proxies write it: ``192.0.2.7``, ``2001:db8::7``, with a port
    ``192.0.2.7:4711`` or ``[2001:db8::7]:4711``; None for anything else."""
    host = ip(text)
    if host is not None:
        return Source(host)
    match = _NODE.match(text)
    if match is None:
        return None
    host = ip(match["v6"] or match["v4"])
    port = match["port6"] or match["port4"]
    if host is None or (port is not None and int(port) > 65535):
        return None
    return Source(host, int(port) if port else None)
