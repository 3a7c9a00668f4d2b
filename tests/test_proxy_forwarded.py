"""Who the client is behind HTTP proxies (doors/web/forwarded.py), and the web door's
upgrade that asks it (doors/web/site.py), sans-I/O."""

from __future__ import annotations

import ipaddress

import pytest

from chat_trio.doors.proxy import Source, Trusted
from chat_trio.doors.web import forwarded
from chat_trio.doors.web.site import Action, Asked, Site, Upgraded

PROXIES = Trusted(frozenset({ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")}))
PROXY = Source("10.0.0.2", 40000)
ELSEWHERE = Source("198.51.100.50", 40000)


def client(*headers: tuple[str, str], peer: Source = PROXY) -> Source:
    return forwarded.client(peer, [(n.encode(), v.encode()) for n, v in headers], PROXIES)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # the proxy appended the address it saw: that is the client
        ([("X-Forwarded-For", "203.0.113.7")], Source("203.0.113.7")),
        # the client wrote its own entry first: the right-most untrusted one counts
        ([("X-Forwarded-For", "1.2.3.4, 203.0.113.7")], Source("203.0.113.7")),
        # two trusted hops (a load balancer in front of our proxy): skipped
        ([("X-Forwarded-For", "1.2.3.4, 203.0.113.7, 10.9.9.9")], Source("203.0.113.7")),
        # one header per hop, as haproxy adds them, read in order
        (
            [("X-Forwarded-For", "1.2.3.4"), ("x-forwarded-for", "203.0.113.7")],
            Source("203.0.113.7"),
        ),
        # every entry trusted: the left-most is as far as anyone vouches
        ([("X-Forwarded-For", "10.1.1.1, 10.2.2.2")], Source("10.1.1.1")),
        ([("X-Forwarded-For", "203.0.113.7:4711")], Source("203.0.113.7", 4711)),
        ([("X-Forwarded-For", "[2001:db8::7]:4711")], Source("2001:db8::7", 4711)),
        ([("X-Forwarded-For", "2001:db8::7")], Source("2001:db8::7")),
        ([("X-Forwarded-For", "::ffff:203.0.113.7")], Source("203.0.113.7")),
        ([("Forwarded", "for=203.0.113.7;proto=https")], Source("203.0.113.7")),
        ([("Forwarded", 'for="[2001:db8::7]:4711"')], Source("2001:db8::7", 4711)),
        (
            [("Forwarded", 'for="_secret", for=203.0.113.7;by="[::1]"')],
            Source("203.0.113.7"),
        ),
        ([("Forwarded", 'proto=https;FOR="198.51.100.1"')], Source("198.51.100.1")),
        # both, naming the same client
        (
            [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7")],
            Source("203.0.113.7"),
        ),
        # neither: the proxy is the client (its own request)
        ([("Host", "example.org")], PROXY),
    ],
)
def test_proxy_forwarded_takes_the_right_most_untrusted_address(
    headers: list[tuple[str, str]], expected: Source
) -> None:
    assert client(*headers) == expected


def test_proxy_forwarded_headers_from_anyone_else_are_ignored() -> None:
    spoofed = [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7")]
    assert client(*spoofed, peer=ELSEWHERE) == ELSEWHERE


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ([("X-Forwarded-For", "unknown")], "X-Forwarded-For: 10.0.0.2 forwarded for 'unknown'"),
        ([("X-Forwarded-For", "1.2.3.4, ")], "10.0.0.2 forwarded for an empty entry"),
        ([("Forwarded", 'for="_hidden"')], "Forwarded: 10.0.0.2 forwarded for '_hidden'"),
        # an unclosed quote from the client, extended by the proxy: the line is refused
        # whole (skipping the quote let the client swallow the proxy's own element)
        ([("Forwarded", 'for="1.2.3.4, for="[2001:db8::7]"')], "is not a list of name=value"),
        ([("Forwarded", 'for="1.2.3.4, for=203.0.113.7')], "is not a list of name=value"),
        ([("Forwarded", 'for=1.2.3.4;x=", for="[2001:db8:cafe::17]:4711"')], "is not a list"),
        ([("Forwarded", "proto=https")], "10.0.0.2 forwarded for an empty entry"),
        ([("X-Forwarded-For", "10.3.3.3, bogus, 10.1.1.1")], "10.1.1.1 forwarded for 'bogus'"),
        ([("X-Forwarded-For", "1.2.3.4:99999")], "forwarded for '1.2.3.4:99999'"),
    ],
)
def test_proxy_forwarded_an_entry_a_trusted_proxy_wrote_must_be_an_address(
    headers: list[tuple[str, str]], said: str
) -> None:
    with pytest.raises(forwarded.Unknown) as refused:
        client(*headers)
    assert said in str(refused.value)


def test_proxy_forwarded_headers_that_disagree_are_refused() -> None:
    # the client forged a Forwarded that our proxy (which appends to X-Forwarded-For)
    # passes on untouched: taking it would let the client choose its address
    with pytest.raises(forwarded.Disagree) as refused:
        client(("Forwarded", "for=1.2.3.4"), ("X-Forwarded-For", "203.0.113.7"))
    assert str(refused.value) == (
        "X-Forwarded-For names 203.0.113.7 and Forwarded names 1.2.3.4 as the client"
    )


def upgrade(
    site: Site, peer: Source, *headers: bytes
) -> tuple[bytes | Upgraded | Asked | Action, str]:
    exchange = site.exchange(peer)
    exchange.receive_data(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )
    action = exchange.next_action()
    assert exchange.client is not None
    return action, f"{exchange.client.host} {exchange.refused}".strip()


def test_proxy_forwarded_the_upgrade_names_its_client_only_behind_a_trusted_proxy() -> None:
    site = Site(proxies=PROXIES)
    action, who = upgrade(site, PROXY, b"X-Forwarded-For: 1.2.3.4, 203.0.113.7")
    assert isinstance(action, Upgraded)
    assert who == "203.0.113.7"
    action, who = upgrade(site, ELSEWHERE, b"X-Forwarded-For: 203.0.113.7")
    assert isinstance(action, Upgraded)
    assert who == "198.51.100.50"
    action, who = upgrade(Site(), PROXY, b"X-Forwarded-For: 203.0.113.7")  # none trusted
    assert isinstance(action, Upgraded)
    assert who == "10.0.0.2"


def test_proxy_forwarded_an_upgrade_whose_proxy_cannot_say_who_gets_400_and_a_reason() -> None:
    action, who = upgrade(Site(proxies=PROXIES), PROXY, b"X-Forwarded-For: unknown")
    assert isinstance(action, bytes)
    assert action.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert action.endswith(b"\r\n\r\n400 The proxy did not say who you are.\n")
    assert who == "10.0.0.2 X-Forwarded-For: 10.0.0.2 forwarded for 'unknown', not an address"
