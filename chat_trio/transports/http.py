"""HTTP under trio: the thin adapter around the web door's sans-I/O ``Exchange``.

It does the awaiting and nothing else: read with a deadline, write with a deadline, and
hand back the WebSocket door once the exchange has upgraded. Every await is one of those
two, so a cancelled or stalled connection stops at a checkpoint that holds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from chat_trio.doors.proxy import Source
from chat_trio.doors.web.door import WebDoor
from chat_trio.doors.web.site import Action, Asked, Exchange, Upgraded

log = logging.getLogger("chat_trio.http")

REQUEST_TIMEOUT = 10.0
"""Seconds a request may take to arrive, from the connection (or the last response) on.
Browsers send theirs at once; this also ends idle keep-alive connections and slow-loris
clients that trickle a header a byte at a time."""

READ_SIZE = 4096

Answer = Callable[[Asked], Awaitable[tuple[int, bytes, str]]]
"""Works out the answer to a request for a path the site leaves to its runner (``Asked``:
the path, and the credentials sent): (status, body, content type)."""


async def serve_pages(
    stream: trio.abc.Stream,
    exchange: Exchange,
    *,
    write_timeout: float,
    peer: str = "-",
    answer: Answer | None = None,
    admit: Callable[[Source], bytes | None] | None = None,
) -> WebDoor | None:
    """Answer HTTP requests on ``stream`` until it upgrades to a WebSocket (returns the
    door for the session; its client is ``exchange.client``) or is over (returns None;
    the caller closes ``stream``).

    ``answer`` works out what the site asks for (``Asked``: the operator's port).
    ``admit``, where given, is asked about the upgrade's client before it is accepted:
    it returns the whole response that refuses it, sent in place of the acceptance, or
    None to let it in (a proxy's connection: only the upgrade says whose it is).
    """
    deadline = trio.current_time() + REQUEST_TIMEOUT
    while True:
        action = exchange.next_action(trio.current_time())
        if exchange.refused:
            log.warning("forwarded-refused peer=%s why=%r", peer, exchange.refused)
            exchange.refused = ""
        if action is Action.CLOSE:
            return None
        if action is Action.NEED_DATA:
            data = None
            with trio.move_on_at(deadline):
                data = await _receive(stream)
            if data is None:
                log.info("http-closed peer=%s why=timeout-or-lost served=%d", peer, exchange.served)
                return None
            exchange.receive_data(data)
            continue
        if isinstance(action, Asked):
            assert answer is not None, f"{action.path} is routed, but nobody answers it"
            action = exchange.answer(action, *await answer(action))
        response = action.response if isinstance(action, Upgraded) else action
        refusal = admit(exchange.client) if admit and isinstance(action, Upgraded) else None
        if refusal is not None:
            action = response = refusal
        assert isinstance(response, bytes)
        sent = False
        with trio.move_on_after(write_timeout):
            sent = await _send(stream, response)
        if not sent:
            return None
        if isinstance(action, Upgraded):
            return action.door
        deadline = trio.current_time() + REQUEST_TIMEOUT


async def _receive(stream: trio.abc.Stream) -> bytes | None:
    try:
        return bytes(await stream.receive_some(READ_SIZE))
    except trio.BrokenResourceError:
        return None


async def _send(stream: trio.abc.Stream, data: bytes) -> bool:
    try:
        await stream.send_all(data)
    except trio.BrokenResourceError:
        return False
    return True
