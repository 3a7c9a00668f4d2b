"""The node's one Redis pub/sub connection, under a supervisor that keeps it alive.

``Subscriber.run`` is a trio task (``server.py`` starts it in its nursery). It connects
with a plain ``trio.open_tcp_stream``, speaks RESP through ``resp.Replies``, subscribes to
the channels asked for (``subscribe``/``unsubscribe``, plain functions: sent at once when
connected, else on the next connect), and hands what arrives to ONE consumer through a
bounded channel (``arrivals``): ``Message``, and around each outage exactly one ``Lost``
and one ``Restored``.

Theory of operation:

- A link is one connection and the two tasks that use it, the reader and the writer, in a
  nursery of the link's own that lives inside ``run``. Whichever task finds the link dead
  (end of stream, a socket error, bytes that are not RESP, an error reply, no answer to a
  PING in time) records why and cancels that nursery: cancellation is how a dead link ends
  its tasks. ``run`` then closes the socket (shielded, with a deadline), queues ``Lost``,
  and reconnects.
- Keepalive: the writer sends ``PING`` every ``keepalive`` seconds (in subscribe mode Redis
  answers ``["pong", ""]``) and arms a deadline ``keepalive`` seconds later; any byte from
  Redis disarms it, and the reader's ``receive_some`` runs under it. A hung Redis
  (SIGSTOP) is so noticed within two periods. Time the reader spends blocked on a full
  arrivals channel does not count: the deadline is moved out by that time when it resumes
  (the answer is waiting in the socket behind messages we chose not to read yet).
- Reconnect: attempts under ``CONNECT_DEADLINE``, with a delay doubling from
  ``BACKOFF_MIN`` up to ``backoff_max``, forever; after connecting, one write sends
  AUTH/SELECT (when the URL asks; pub/sub ignores databases: nodes/peers.py names its
  channels by database) and SUBSCRIBE with every channel (a PING when there is none);
  their acknowledgements end the handshake. Only then is ``Restored`` queued.

What this module owns: that one connection, its keepalive and its bounded hand-off. It
never publishes, never reads keys (coredis does that), never decides what a message means
(the consumer does, with ``sequence.Sequences``), and never buffers without a bound.
"""

from __future__ import annotations

import logging
import math
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

import attrs
import trio

from chat_trio.nodes.resp import NEED_DATA, ErrorReply, ProtocolError, Replies, command
from chat_trio.storage.redis import shown_url

log = logging.getLogger("chat_trio.nodes")

BUFFER = 10_000
"""Arrivals (messages, ``Lost``, ``Restored``) queued for the consumer.

Policy when full: the reader stops reading the socket until the consumer takes one
(backpressure, nothing dropped here). Redis then queues for us, and its own
``client-output-buffer-limit pubsub`` (32 MiB, or 8 MiB for 60 s, by default) cuts off a
consumer that stays slow. The supervisor sees that as a dead link: ``Lost``, reconnect,
``Restored``; the messages lost on the way are what the sequence numbers then reveal. So
this process holds at most ``buffer`` arrivals plus one socket read, however fast others
publish. ``Lost`` and ``Restored`` wait for room the same way (never dropped: the consumer
must see each outage); a reconnect starts once ``Lost`` is queued. 10,000 events of a few
hundred bytes: a few MB, seconds of a busy room's traffic.
"""

KEEPALIVE = 1.0
"""Seconds between PINGs, and how long an answer may take: a hung Redis is noticed within
twice ``keepalive`` (the issue asks for about 2.5 s)."""

CONNECT_DEADLINE = 2.0
"""Seconds one connect may take, handshake included (as every Redis call's ``CALL_TIMEOUT``)."""

BACKOFF_MIN = 0.05  #: seconds before the first retry; each failed attempt doubles it
BACKOFF_MAX = 1.0  #: the cap: a Redis back after an outage is found within about a second

CLOSE_DEADLINE = 1.0  #: seconds the shielded close of a dead link may take
READ_SIZE = 64 * 1024  #: bytes per socket read (the RESP parser's bound adds up to this)


@attrs.frozen
class Message:
    """A message published on a channel this node subscribed to."""

    channel: str  #: the channel, as given to ``subscribe``
    data: bytes  #: what was published, as published


@attrs.frozen
class Lost:
    """The link to Redis was found dead: messages may be missed until ``Restored``."""

    at: float  #: ``trio.current_time()`` when it was found dead


@attrs.frozen
class Restored:
    """Reconnected and subscribed again to every channel asked for."""

    at: float  #: ``trio.current_time()`` when the subscriptions were confirmed
    down: float  #: seconds since the matching ``Lost``


Arrival: TypeAlias = Message | Lost | Restored


@attrs.frozen
class SubscriberStatistics:
    """The subscriber at one moment (for metrics and tests)."""

    connected: bool  #: a link is up and its handshake done
    channels: int  #: channels Redis confirmed we are subscribed to
    wanted: int  #: channels asked for (subscribed to on every connect)
    queued: int  #: arrivals waiting for the consumer
    capacity: int  #: the most that may wait (``buffer``)
    reconnects: int  #: outages ended by a ``Restored``
    outages: int  #: links found dead (one ``Lost`` each)
    messages: int  #: messages handed to the consumer
    ignored: int  #: messages for a channel no longer wanted (sent before our UNSUBSCRIBE)
    blocked: bool  #: the reader waits for the consumer (the arrivals are full)


class SubscriberError(Exception):
    """The first connection failed (``run`` raises it before ``started``); the message
    says where and why, in one line."""


class _Refused(Exception):
    """Redis answered the handshake with an error (a wrong password, a bad database)."""


FAILURES = (OSError, trio.TooSlowError, trio.BrokenResourceError, ProtocolError, _Refused)
"""What makes one connect attempt fail (and is retried, after the first connection)."""


class Subscriber:
    """A supervised pub/sub connection to one Redis (see the module's docstring).

    Args:
      host, port, password, db: where Redis is, as in a ``redis://`` URL
        (``username`` for Redis 6 ACL users).
      buffer: arrivals queued for the consumer (``BUFFER``: its policy when full).
      keepalive: seconds between PINGs, and the deadline for their answer.
      backoff_max: the longest wait between two connect attempts.

    Raises:
      ValueError: a bound that is not positive.
    """

    def __init__(
        self, host: str, port: int, *, password: str | None = None, db: int = 0,
        username: str | None = None, buffer: int = BUFFER, keepalive: float = KEEPALIVE,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:  # fmt: skip
        if buffer < 1 or not keepalive > 0 or not backoff_max > 0 or db < 0:
            raise ValueError(
                f"buffer ({buffer}), keepalive ({keepalive}) and backoff_max ({backoff_max})"
                f" must be positive, db ({db}) a number from 0"
            )
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.buffer, self.keepalive, self.backoff_max = buffer, keepalive, backoff_max
        self._send, self._arrivals = trio.open_memory_channel[Arrival](buffer)
        self._wanted: set[str] = set()  # what the node asked for
        self._asked: set[str] = set()  # what this link has asked Redis for
        self._confirmed: set[str] = set()  # what Redis acknowledged on this link
        self._changed = trio.Event()  # wakes the writer: ``_wanted`` changed
        self._link: trio.CancelScope | None = None  # the live link's nursery scope
        self._why = ""  # why the live link ended
        self._pong_due = math.inf  # when the oldest unanswered PING makes the link dead
        self._watch: trio.CancelScope | None = None  # the reader's current receive
        self._connected = self._blocked = False
        self._reconnects = self._outages = self._messages = self._ignored = 0

    @classmethod
    def from_url(
        cls, url: str, *, buffer: int = BUFFER, keepalive: float = KEEPALIVE,
        backoff_max: float = BACKOFF_MAX,
    ) -> Subscriber:  # fmt: skip
        """A subscriber for a URL as ``--redis`` takes it (``redis://[[USER]:PASSWORD@]
        HOST[:PORT][/DB]``).

        Raises:
          ValueError: not such a URL (the message says what is expected); ``rediss://``
            (TLS) and ``unix://`` are refused with a message saying so.
        """
        # config.py checked --redis already; this says the same of any other URL given.
        parts = urlsplit(url.strip())
        shown = shown_url(url.strip())
        if parts.scheme != "redis":
            raise ValueError(
                f"{shown}: the subscriber takes redis://HOST:PORT/DB only (not TLS or a "
                f"unix socket yet)"
            )
        try:
            port = parts.port or 6379
        except ValueError:
            raise ValueError(f"{shown}: the port is not a number 0-65535") from None
        db = parts.path.strip("/") or "0"
        if not (db.isascii() and db.isdigit()) or not parts.hostname:
            raise ValueError(f"{shown}: expected redis://HOST:PORT/DB, DB a number (as /0)")
        password = unquote(parts.password) if parts.password is not None else None
        username = unquote(parts.username) if parts.username else None
        return cls(
            parts.hostname, port, password=password, username=username, db=int(db),
            buffer=buffer, keepalive=keepalive, backoff_max=backoff_max,
        )  # fmt: skip

    def subscribe(self, channel: str) -> None:
        """Receive ``channel``'s messages: sent at once when connected, and on every
        reconnect. Subscribing twice is subscribing once."""
        self._wanted.add(channel)
        self._changed.set()

    def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``: messages for it read after this call are dropped
        (``ignored``); those already queued in ``arrivals`` stay there."""
        self._wanted.discard(channel)
        self._changed.set()

    def arrivals(self) -> trio.MemoryReceiveChannel[Arrival]:
        """What arrives, in order: the one consumer reads it (it ends when ``run`` does).

        .. warning:: One consumer only, and it must keep reading: while it does not, the
           link stops reading too (``BUFFER``'s policy) and Redis will cut it off. To
           stop, cancel ``run``; closing this channel first makes ``run`` fail with
           ``trio.BrokenResourceError`` at its next arrival.
        """
        return self._arrivals

    def statistics(self) -> SubscriberStatistics:
        return SubscriberStatistics(
            connected=self._connected, channels=len(self._confirmed), wanted=len(self._wanted),
            queued=self._send.statistics().current_buffer_used, capacity=self.buffer,
            reconnects=self._reconnects, outages=self._outages, messages=self._messages,
            ignored=self._ignored, blocked=self._blocked,
        )  # fmt: skip

    def _where(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.db}"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe, and keep doing so until cancelled (once per subscriber:
        its end closes ``arrivals``).

        ``task_status.started()`` comes once the first connection's subscriptions are
        confirmed (the server checked Redis before starting this, so a first failure is
        an error, not an outage). Cancelling ``run`` closes the socket and ``arrivals``.

        Raises:
          SubscriberError: the first connection failed or was refused (within
            ``CONNECT_DEADLINE``), before ``started``.
        """
        with self._send:
            try:
                link = await self._connect()
            except FAILURES as exc:
                raise SubscriberError(
                    f"cannot subscribe at {self._where()}: {_reason(exc)}"
                ) from None
            log.info("redis-subscriber-connected url=%s channels=%d", self._where(),
                     len(self._confirmed))  # fmt: skip
            task_status.started()
            while True:
                await self._serve(*link)
                lost = trio.current_time()
                self._outages += 1
                log.warning("redis-subscriber-lost reason=%s channels=%d", self._why,
                            len(self._wanted))  # fmt: skip
                await self._send.send(Lost(lost))
                link = await self._reconnect()
                now = trio.current_time()
                self._reconnects += 1
                log.info("redis-subscriber-restored down=%.2fs channels=%d", now - lost,
                         len(self._confirmed))  # fmt: skip
                await self._send.send(Restored(now, now - lost))

    async def _reconnect(self) -> tuple[trio.SocketStream, Replies]:
        """Connect again, waiting longer after each failure (up to ``backoff_max``). The
        first failure of an outage is logged as a warning (a wrong password after a Redis
        restart shows there), the others at debug level (one a second, for as long as
        the outage lasts)."""
        delay = BACKOFF_MIN
        while True:
            try:
                return await self._connect()
            except FAILURES as exc:
                level = logging.WARNING if delay == BACKOFF_MIN else logging.DEBUG
                log.log(level, "redis-subscriber-retry in=%.2fs error=%s", delay, _reason(exc))
            await trio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _connect(self) -> tuple[trio.SocketStream, Replies]:
        """Open a connection and subscribe to every wanted channel, in one write, under
        ``CONNECT_DEADLINE``; return once Redis acknowledged all of it.

        Raises:
          OSError, trio.TooSlowError, trio.BrokenResourceError, ProtocolError, _Refused:
            this attempt failed (``FAILURES``).
        """
        with trio.fail_after(CONNECT_DEADLINE):
            stream = await trio.open_tcp_stream(self.host, self.port)
            done = False
            try:
                replies = Replies()
                await stream.send_all(self._handshake())
                while not done:
                    reply = await _next(stream, replies)
                    if isinstance(reply, ErrorReply):
                        raise _Refused(f"Redis refused: {reply}")
                    self._note(reply)
                    # SUBSCRIBE's acknowledgements come together (one command), before any
                    # message; without channels a PING proves that Redis answers.
                    acknowledged = bool(self._asked) and self._confirmed >= self._asked
                    done = reply == b"PONG" or acknowledged
                self._connected = True
                return stream, replies
            finally:
                if not done:
                    stream.socket.close()  # never used: nothing to flush, no deadline needed

    def _handshake(self) -> bytes:
        out = []
        if self.password is not None:
            auth = (self.username, self.password) if self.username else (self.password,)
            out.append(command("AUTH", *auth))
        if self.db:
            out.append(command("SELECT", str(self.db)))
        self._asked = set(self._wanted)
        self._confirmed.clear()
        out.append(command("SUBSCRIBE", *sorted(self._asked)) if self._asked else command("PING"))
        return b"".join(out)

    async def _serve(self, stream: trio.SocketStream, replies: Replies) -> None:
        """Run the link's reader and writer until one finds it dead (``_why`` says why),
        then close it."""
        self._why, self._pong_due = "", math.inf
        try:
            async with trio.open_nursery() as link:
                self._link = link.cancel_scope
                link.start_soon(self._read, stream, replies)
                link.start_soon(self._write, stream)
        finally:
            self._link = self._watch = None
            self._connected = self._blocked = False
            self._confirmed.clear()
            with trio.move_on_after(CLOSE_DEADLINE, shield=True):
                await stream.aclose()

    def _dead(self, why: str) -> None:
        """The link is dead: say why (the first reason found wins) and end its tasks."""
        self._why = self._why or why
        if self._link is not None:
            self._link.cancel()

    async def _read(self, stream: trio.SocketStream, replies: Replies) -> None:
        while True:
            try:
                reply = replies.next()
                if reply is NEED_DATA:
                    with trio.CancelScope(deadline=self._pong_due) as self._watch:
                        data = await stream.receive_some(READ_SIZE)
                    if self._watch.cancelled_caught:
                        return self._dead(f"no answer to PING within {self.keepalive:g}s")
                    if not data:
                        return self._dead("Redis closed the connection")
                    self._pong_due = math.inf  # Redis answered: it is alive
                    replies.feed(data)
                    continue
            except (OSError, trio.BrokenResourceError, ProtocolError) as exc:
                return self._dead(_reason(exc))
            if isinstance(reply, ErrorReply):
                return self._dead(f"Redis answered an error: {reply}")
            if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                await self._deliver(reply[1], reply[2])
            else:
                self._note(reply)

    def _note(self, reply: object) -> None:
        """Take an acknowledgement (or a pong) into account."""
        if isinstance(reply, list) and len(reply) == 3 and isinstance(reply[1], bytes):
            if reply[0] == b"subscribe":
                self._confirmed.add(reply[1].decode())
            elif reply[0] == b"unsubscribe":
                self._confirmed.discard(reply[1].decode())

    async def _deliver(self, channel_bytes: bytes, data: bytes) -> None:
        channel = channel_bytes.decode()
        if channel not in self._wanted:
            self._ignored += 1
            return
        message = Message(channel, data)
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            # Full: wait for the consumer (BUFFER's policy). That wait is not Redis's
            # silence, so the PING deadline moves out by as long as it lasted.
            self._blocked, blocked_at = True, trio.current_time()
            await self._send.send(message)
            self._blocked, resumed = False, trio.current_time()
            if self._pong_due != math.inf:
                waited = resumed - blocked_at
                self._pong_due = min(self._pong_due + waited, resumed + self.keepalive)
        self._messages += 1

    async def _write(self, stream: trio.SocketStream) -> None:
        """Send what ``subscribe``/``unsubscribe`` changed, and a PING every period."""
        next_ping = trio.current_time() + self.keepalive
        while True:
            with trio.move_on_at(next_ping):
                await self._changed.wait()
            self._changed = trio.Event()
            out = self._changes()
            if trio.current_time() >= next_ping:
                out += command("PING")
                next_ping = trio.current_time() + self.keepalive
                if self._pong_due == math.inf:
                    self._pong_due = trio.current_time() + self.keepalive
                    if self._watch is not None:
                        self._watch.deadline = self._pong_due
            if out:
                try:
                    with trio.move_on_after(self.keepalive) as writing:
                        await stream.send_all(out)
                except (OSError, trio.BrokenResourceError) as exc:
                    return self._dead(_reason(exc))
                if writing.cancelled_caught:
                    return self._dead(f"a write took longer than {self.keepalive:g}s")

    def _changes(self) -> bytes:
        """SUBSCRIBE/UNSUBSCRIBE for the difference between what is wanted and what this
        link asked for (a state, not a queue: bounded by the channels)."""
        out = b""
        if added := self._wanted - self._asked:
            out += command("SUBSCRIBE", *sorted(added))
        if removed := self._asked - self._wanted:
            out += command("UNSUBSCRIBE", *sorted(removed))
        self._asked = set(self._wanted)
        return out


async def _next(stream: trio.SocketStream, replies: Replies) -> object:
    """The next reply, reading as needed (during the handshake, under its deadline).

    Raises:
      trio.BrokenResourceError: the stream ended first.
    """
    while (reply := replies.next()) is NEED_DATA:
        data = await stream.receive_some(READ_SIZE)
        if not data:
            raise trio.BrokenResourceError("Redis closed the connection")
        replies.feed(data)
    return reply


def _reason(exc: BaseException) -> str:
    """An exception as a short reason for a log line."""
    if isinstance(exc, trio.TooSlowError):
        return f"no answer within {CONNECT_DEADLINE:g}s"
    return str(exc) or type(exc).__name__
