"""One connection, from accept to close: a reader, and a writer while one is needed, in
one nursery.

The reader feeds received bytes to the connection's door, hands the intents the door
parses to the rules (chat/), and carries out what the rules answer (effects.py). Most
deliveries go straight into the socket from the hub (``Outbox.offer``); only when the
kernel did not take one whole does the outbox start a writer task in this nursery, which
drains the queue into the stream and ends when it is empty. An idle connection is one
task. When the input is over, the reader asks the hub to close the outbox after what is
pending for it; the outbox ends the session once all of it is written (within
``FLUSH_TIMEOUT``). A kick (a full queue, a broken write) cancels the session at once.

This nursery lives exactly as long as the connection, so it is opened here rather than in
server.py (which owns the server-wide, long-lived ones).

Error handling: ``serve_connection`` never raises anything but ``trio.Cancelled``. A
broken connection ends the session with ``Reason.LOST``; any other exception is logged
with the connection's id and ends only this session. Whatever happened, the name is freed
and the others see exactly one leave notice.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial

import attrs
import trio

from chat_trio.chat.core import Chat
from chat_trio.chat.events import ConnId, Entry, Event, History, Reason, Refused
from chat_trio.chat.outputs import (
    CheckPassword,
    HashPassword,
    LoadHistory,
    NoteLogin,
    Output,
    Outputs,
    QueryHistory,
    SaveAccount,
    SaveBan,
)
from chat_trio.chat.problems import Problem
from chat_trio.chat.registry import Verdict
from chat_trio.chat.state import Phase
from chat_trio.delivery import audit
from chat_trio.delivery.effects import carry_out, follow_views
from chat_trio.delivery.hub import Hub, Outbox, TrySend
from chat_trio.doors import Answer, Door, Free
from chat_trio.passwords import Passwords
from chat_trio.storage import database
from chat_trio.storage.store import Store

log = logging.getLogger("chat_trio.session")

READ_SIZE = 4096
"""Bytes per receive: a flood is published in chunks of ~100 lines (one publish per chunk),
and a round of reads stays small next to the hub's round budget."""

DEFAULT_WRITE_TIMEOUT = 10.0
"""Seconds one write may block before the client counts as too slow (NATS' write deadline).
It also bounds how long clients that all stopped reading can hold up the hub's flow
control."""

FLUSH_TIMEOUT = 5.0
"""Seconds the writer gets to deliver what is queued after /quit or EOF."""

NOTICE_TIMEOUT = 1.0
"""Seconds to try to tell a kicked client why (best effort: it is not reading)."""


@attrs.frozen
class Services:
    """What sessions share besides the core and the hub (None: not on this server)."""

    store: Store | None = None  #: history, accounts and bans
    passwords: Passwords | None = None  #: hashing in worker threads


_SLOW = (
    LoadHistory, QueryHistory, CheckPassword, HashPassword, SaveAccount, SaveBan, NoteLogin
)  # fmt: skip
"""Outputs that wait for storage or a worker thread (the others are carried out at once)."""


async def perform(
    conn: ConnId, door: Door, outputs: list[Output], chat: Chat, hub: Hub, services: Services
) -> Reason | None:
    """Carry out the rules' outputs for ``conn`` in order, waiting for the ones that read
    or write storage or hash a password, and handing their answers back to the rules.
    Returns the reason if they close ``conn``."""
    store = services.store
    closing = None
    pending = deque(outputs)
    while pending:
        output = pending.popleft()
        if not isinstance(output, _SLOW):
            audit.note(conn, output, chat.name_of)
            closing = carry_out(conn, door, output, hub, store) or closing
            continue
        answer = Outputs(conn)
        if isinstance(output, LoadHistory):
            entries, topic, name = await _load(output.room, chat, store)
            now = trio.current_time()
            chat.history_loaded(output.conn, name or output.room, entries, topic, now, answer)
        elif isinstance(output, QueryHistory):
            hub.send(output.conn, door.render([await _answer(output, chat, store)]))
        elif isinstance(output, CheckPassword):
            verdict, admin = await _check(output, services)
            chat.password_checked(output.conn, verdict, admin, trio.current_time(), answer)
        elif isinstance(output, HashPassword):
            assert services.passwords is not None  # the rules register only with storage
            hashed = await services.passwords.hash(output.password)
            chat.password_hashed(output.conn, hashed, trio.current_time(), answer)
        else:
            await _save(output, store)
        door.observe(answer.take_mine())
        pending.extendleft(reversed(answer.done()))
    return closing


def hand_over(conn: ConnId, door: Door, chat: Chat, now: float, out: Outputs) -> bool:
    """Hand the rules the door's items, one at a time, collecting into ``out``, until the
    door needs data, flood control holds an item (the door keeps it), or the rules wait for
    slow work. Returns True in that last case: carry out ``out``, then call again.

    Never blocks: each item is parsed for the phase the connection is in by then.
    """
    while (phase := chat.phase(conn)) is not Phase.CLOSING:
        item = door.next_item(phase)
        if item is None:
            break
        if isinstance(item, Answer):
            out.reply(conn, *item.events)
        else:
            free = isinstance(item, Free)
            intent = item.intent if isinstance(item, Free) else item
            if not chat.handle(conn, intent, now, out, free=free):
                door.push_back(item)
                chat.waiting(conn, door.backlog(), out)
                break
        door.observe(out.take_mine())
        if out.waiting:
            return True
    chat.input_done(conn, now, out)
    return False


async def pump(
    conn: ConnId, door: Door, out: Outputs, chat: Chat, hub: Hub, services: Services
) -> Reason | None:
    """Hand the rules every item the door has (after what ``out`` holds already), and
    carry out what they say. Returns the reason if that closes ``conn``.

    See ``hand_over``; where the rules wait for slow work, this waits for it and goes on;
    where flood control holds an item, ``chat.deadline`` says when to try again.
    """
    while True:
        now = trio.current_time()
        before = chat.phase(conn)
        waiting = hand_over(conn, door, chat, now, out)
        closing = await perform(conn, door, out.done(), chat, hub, services)
        follow_views(conn, door, hub)
        if before is Phase.NAMING and chat.phase(conn) in (Phase.CHATTING, Phase.BUSY):
            log.info("register conn=%d name=%s", conn, chat.name_of(conn))
        if closing is not None or not waiting:
            return closing


async def _check(request: CheckPassword, services: Services) -> tuple[Verdict, bool]:
    """(the verdict, is the account an admin), from the account as stored now. A storage
    error is no verdict on the password (``UNAVAILABLE``): an outage is not a guess."""
    if services.store is None or services.passwords is None:
        return Verdict.UNAVAILABLE, False
    try:
        account = await services.store.read(database.account, request.key)
    except sqlite3.Error as exc:
        log.error("account-read-failed error=%r", str(exc))
        return Verdict.UNAVAILABLE, False
    if account is None:
        return Verdict.WRONG, False
    ok = await services.passwords.verify(account.hash, request.password)
    log.info("password-check account=%s ok=%s", account.name, ok)  # never the password
    return Verdict.RIGHT if ok else Verdict.WRONG, account.admin


async def _save(change: SaveAccount | SaveBan | NoteLogin, store: Store | None) -> None:
    if store is None:
        return
    try:
        if isinstance(change, SaveAccount):
            await store.write(database.save_account, change.key, change.account)
        elif isinstance(change, NoteLogin):
            await store.write(database.note_login, change.key, time.time())
        else:
            await store.write(database.save_ban, change.kind, change.key, change.ban)
    except sqlite3.Error as exc:
        log.error("save-failed what=%s error=%r", type(change).__name__, str(exc))


async def _load(room: str, chat: Chat, store: Store | None) -> tuple[list[Entry], str, str]:
    if store is None:
        return [], "", ""
    try:
        return await store.read(database.conversation, room, chat.rules.history_lines)
    except sqlite3.Error as exc:
        log.error("history-read-failed room=%s error=%r", room, str(exc))
        return [], "", ""


async def _answer(query: QueryHistory, chat: Chat, store: Store | None) -> Event:
    if store is None:
        return Refused(Problem.HISTORY_OFF)
    try:
        if query.peer:
            entries = await store.read(
                database.private_history, query.session, query.account, query.peer_key,
                query.peer_session, query.peer_account, query.limit,
            )  # fmt: skip
        else:
            entries = await store.read(
                partial(database.room_history, before=query.before, after=query.after),
                query.room,
                query.limit,
            )
    except sqlite3.Error as exc:
        log.error("history-read-failed error=%r", str(exc))
        return Refused(Problem.HISTORY_UNAVAILABLE)
    return History(query.peer or query.room, tuple(entries), chat.today(), asked=True)


async def serve_connection(
    stream: trio.abc.Stream,
    conn: ConnId,
    chat: Chat,
    hub: Hub,
    door: Door,
    *,
    services: Services | None = None,
    address: str = "",
    try_send: TrySend | None = None,
    receive: Callable[[int], Awaitable[bytes]] | None = None,
    acked: Callable[[], int] | None = None,
    peer: str = "-",
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> None:
    """Run one connection until it ends. See the module docstring.

    Args:
      stream: the connection; closed when this returns.
      conn: a connection id never used before.
      door: the connection's door (its dialect), new for this connection.
      services: storage and password hashing; None: neither (history in memory only).
      address: the client's IP address ("" if unknown), for bans and login throttling.
      try_send: a non-blocking write to the same connection, for the hub's fast path
        (plain sockets only; None for TLS and test streams).
      receive: reads from the same connection, in place of ``stream.receive_some``
        (plain sockets: ``tcp.direct_reader``, lighter while waiting).
      acked: the bytes the peer acknowledged so far, for flow control (TCP only).
      peer: the client's address, for the logs.
      write_timeout: seconds one write may block before the client is cut as too slow.
    """
    services = services or Services()
    log.info("connect conn=%d peer=%s", conn, peer)
    reason = Reason.ERROR
    outbox: Outbox | None = None
    try:
        async with trio.open_nursery() as nursery:
            outbox = hub.open_outbox(
                conn,
                try_send,
                end=nursery.cancel_scope.cancel,
                render=door.deliver,
                acked=acked,
                start_writer=partial(_start_writer, nursery, stream, write_timeout),
            )
            try:
                reason = await _greet(conn, door, chat, hub, services, address) or await _read(
                    receive or stream.receive_some, conn, door, chat, hub, services
                )
                # The outbox ends the session once everything queued so far is written.
                hub.finish(conn)
                nursery.cancel_scope.deadline = trio.current_time() + FLUSH_TIMEOUT
                await trio.sleep_forever()
            finally:
                # Before the nursery closes to new tasks: from here on no delivery can
                # reach the outbox, so none can try to start a writer in it.
                hub.remove(conn)
    except Exception:
        log.exception("error conn=%d", conn)
        reason = Reason.ERROR
    finally:
        name = chat.name_of(conn)
        hub.remove(conn)
        if outbox is not None and outbox.ended is not None:
            reason = outbox.ended
        farewell = Outputs(conn)
        chat.disconnect(conn, reason, farewell)
        for output in farewell.done():
            carry_out(conn, door, output, hub, services.store)
        # Cleanup may run in a cancelled scope: shield it, and bound it.
        with trio.move_on_after(NOTICE_TIMEOUT, shield=True):
            try:
                cut = outbox is not None and outbox.cut
                if last := door.farewell(reason, cut=cut):
                    await stream.send_all(last)
                await stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        await trio.aclose_forcefully(stream)  # a no-op unless the above timed out or failed
        log.info("disconnect conn=%d name=%s reason=%s", conn, name or "-", reason.value)


async def _greet(
    conn: ConnId, door: Door, chat: Chat, hub: Hub, services: Services, address: str
) -> Reason | None:
    """The rules meet the new connection (the greeting, or a refusal that closes it)."""
    greeting = Outputs(conn)
    chat.connect(conn, trio.current_time(), greeting, address)
    return await pump(conn, door, greeting, chat, hub, services)


async def _read(
    receive: Callable[[int], Awaitable[bytes | bytearray]],
    conn: ConnId,
    door: Door,
    chat: Chat,
    hub: Hub,
    services: Services,
) -> Reason:
    """Feed the door and the rules until they close the connection; return why.

    Registered users have no deadline; they then wait without a cancel scope, which is
    about 1 KiB less per idle connection (10,000 of them: 10 MiB). Nothing else is held
    across the wait: what a chunk needs (its ``Outputs``) is made after it arrived.
    """
    while True:
        deadline = min(chat.deadline(conn), door.deadline())
        data: bytes | bytearray | None = None
        try:
            if deadline == math.inf:
                data = await receive(READ_SIZE)
            else:
                with trio.move_on_at(deadline):
                    data = await receive(READ_SIZE)
        except trio.BrokenResourceError:
            return Reason.LOST
        out = Outputs(conn)
        if data is None:  # a deadline passed
            now = trio.current_time()
            chat.expire(conn, now, out)
            if (item := door.expire(now)) is not None:
                door.push_back(item)
        else:
            # Flow control: hold this chunk (at most READ_SIZE) until the hub has room.
            # No await between the wait and the publish, so the check holds when we publish.
            await hub.wait_for_room()
            chat.heard(conn, trio.current_time())
            door.receive_data(data, trio.current_time())
            data = None
        closing = await pump(conn, door, out, chat, hub, services)
        del out
        if closing is not None:
            return closing


def _start_writer(
    nursery: trio.Nursery, stream: trio.abc.Stream, write_timeout: float, outbox: Outbox
) -> None:
    """Start ``outbox``'s writer in the connection's nursery (a partial of this is smaller
    than a closure, and every idle connection keeps one)."""
    nursery.start_soon(_write, stream, write_timeout, outbox)


async def _write(stream: trio.abc.Stream, write_timeout: float, outbox: Outbox) -> None:
    """Write what the outbox queued, everything queued in one write, until it is empty;
    started by the outbox when a delivery did not go straight into the socket."""
    try:
        while (batch := outbox.take()) is not None:
            with trio.move_on_after(write_timeout) as deadline:
                await stream.send_all(batch)
            if deadline.cancelled_caught:
                outbox.kick(Reason.SLOW)
                return
            outbox.sent(len(batch))
    except trio.BrokenResourceError:
        outbox.kick(Reason.LOST)
