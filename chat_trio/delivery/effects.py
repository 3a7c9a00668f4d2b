"""The one interpreter of the rules' outputs: what the rules asked for, carried out in
order, for every connection, in the server and in the tests alike.

A session hands ``perform`` a list of steps: the rules' outputs (chat/outputs.py) and its
door's own answers (``doors.Answer``), in the order they were made. Deliveries go to the
hub (replies rendered by the receiver's door, broadcasts once per view at the flush);
storage and password work go to the backend (storage/backend.py), and every answer goes
back through the rules, whose new outputs are carried out next, before anything that
came after. ``Effects._now`` and ``Effects._wait`` say which outputs are carried out at once and
which wait for the backend: two tables, and nothing else decides it.

Error handling: the backend never raises (it answers "unavailable"); anything else is a
bug, and propagates to the session, which ends that connection only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import trio

from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    Action,
    ConnId,
    Event,
    Help,
    History,
    Joined,
    Left,
    NickChanged,
    Private,
    Reason,
    RoomEntered,
    RoomLeft,
    RoomList,
    Said,
    Tagged,
    UserList,
)
from chat_trio.chat.outputs import (
    Broadcast,
    CheckPassword,
    ClaimName,
    Close,
    FindMessage,
    Forget,
    HashPassword,
    LoadHistory,
    NoteLogin,
    Output,
    Outputs,
    QueryHistory,
    QueryTargets,
    Record,
    ReleaseName,
    Reply,
    SaveAccount,
    SaveBan,
    SaveMarker,
    SaveRoom,
    Subscribe,
    Unsubscribe,
)
from chat_trio.chat.remote import RoomState
from chat_trio.delivery import audit
from chat_trio.delivery.hub import Hub
from chat_trio.doors import Answer, Door, Local
from chat_trio.metrics import Counts
from chat_trio.storage.backend import Backend, NoStorage

Step = Output | Answer
"""What a session hands the interpreter: the rules' outputs and its door's own answers."""


class Peers(Protocol):
    """The other nodes of the chat (nodes/peers.py), as the interpreter tells them."""

    def told(self, conn: ConnId, output: Broadcast) -> None:
        """The rules broadcast ``output`` in a step of ``conn``."""

    def forward(
        self, conn: ConnId, to: ConnId, events: Sequence[Event], closed: Reason | None
    ) -> None:
        """``events`` for (and, ``closed``: the end of) ``to``, a person on another node."""

    def moved(self, room: str) -> None:
        """Who of this node is in ``room`` may have changed."""

    def settled(self, conn: ConnId) -> None:
        """A step of ``conn`` is carried out."""

    async def room_state(self, room: str, conn: ConnId) -> RoomState | None:
        """How ``room`` is run as the nodes keep it, for ``conn`` who joins it."""


_OTHER_EVENT_SIZE = 64  #: bytes a notice is reckoned at for flow control (see ``size``)


def _tags_size(tags: tuple[tuple[str, str], ...]) -> int:
    """Client tags' characters: up to 4 KB a line, which IRC members with message-tags
    receive (flow control counts them as text)."""
    return sum(len(key) + len(value) + 2 for key, value in tags)


def size(events: Sequence[Event | Local]) -> int:
    """About how many bytes ``events`` render to, before any door has rendered them:
    flow control's round budget counts broadcasts by it (chat lines dominate every
    flood), and a session its answers to itself within one turn (lists, history and
    help are what make answers long)."""
    total = 0
    for event in events:
        if isinstance(event, Said | Action):
            total += len(event.name) + len(event.text) + 4 + _tags_size(event.tags)
        elif isinstance(event, Joined | Left):  # a storm of joins is all notices
            total += len(event.name) + 18  # "* Bob joined the chat\r\n": the shortest
        elif isinstance(event, NickChanged):
            total += len(event.old) + len(event.new) + 21
        elif isinstance(event, UserList):
            total += _OTHER_EVENT_SIZE + sum(len(name) + 3 for name in event.names)
        elif isinstance(event, RoomList):
            rooms = sum(len(room) + 8 for room, _ in event.rooms)
            total += _OTHER_EVENT_SIZE + rooms + sum(len(topic) for topic in event.topics)
        elif isinstance(event, History):
            lines = sum(len(e.name) + len(e.text) + 32 for e in event.entries)
            total += _OTHER_EVENT_SIZE + lines
        elif isinstance(event, Help):
            total += sum(len(summary) + 40 for _, summary in event.commands)  # in columns
        elif isinstance(event, Tagged):
            total += len(event.name) + _tags_size(event.tags) + 16
        elif isinstance(event, Private):
            total += len(event.peer) + len(event.text) + 16 + _tags_size(event.tags)
        else:
            total += _OTHER_EVENT_SIZE
    return total


class Effects:
    """Carries out outputs for the sessions of one server. See the module docstring.

    Args:
      chat: the rules, called back with every answer.
      hub: where deliveries go.
      backend: storage and password hashing (``NoStorage`` where there is none: the
        rules then ask for no storage work; history lives in memory, and there are no
        accounts).
      clock: the monotonic clock the rules are given (``trio.current_time`` in the
        server; tests that run without trio pass their own).
    """

    def __init__(
        self,
        chat: Chat,
        hub: Hub,
        backend: Backend | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.chat = chat
        self.hub = hub
        self.backend: Backend = backend or NoStorage()
        self.clock = clock
        self._now: dict[type, Callable[[ConnId, Door | None, Any], Reason | None]] = {
            Broadcast: self._broadcast,
            Reply: self._reply,
            Subscribe: self._subscribe,
            Unsubscribe: self._unsubscribe,
            Close: self._close,
            Record: self._record,
            ReleaseName: self._release_name,
        }
        self._wait: dict[type, Callable[[Any, Outputs], Awaitable[None]]] = {
            LoadHistory: self._load,
            QueryHistory: self._query,
            QueryTargets: self._targets,
            FindMessage: self._find,
            Forget: self._forget,
            CheckPassword: self._check,
            HashPassword: self._hash,
            SaveAccount: self._save_account,
            SaveBan: self._save_ban,
            NoteLogin: self._note_login,
            SaveRoom: self._save_room,
            SaveMarker: self._save_marker,
            ClaimName: self._claim_name,
        }
        #: what ``carry_now`` could not wait to store (only at shutdown; ``store_unsaved``)
        self.unsaved: list[SaveAccount | SaveBan | NoteLogin | SaveRoom | SaveMarker] = []
        #: what the sessions count for the operator (password checks are counted here)
        self.counts = Counts()
        #: the other nodes (``--redis``: server.py sets it), told what the rules did here
        self.peers: Peers | None = None
        self._hearing = False  #: carrying out what was heard from them (``carry_remote``)

    async def perform(self, conn: ConnId, door: Door, steps: Iterable[Step]) -> Reason | None:
        """Carry out ``steps`` for the session of ``conn`` (whose door is ``door``), in
        order, waiting for the backend where an output needs it. Returns the reason if
        they close ``conn``."""
        closing = None
        pending = deque(steps)
        while pending:
            step = pending.popleft()
            if isinstance(step, Answer):
                self.hub.send(conn, door.render(step.events))
                continue
            now = self._now.get(type(step))
            if now is not None:
                audit.note(conn, step, self.chat.name_of)
                closing = now(conn, door, step) or closing
                continue
            answer = Outputs(conn)
            await self._wait[type(step)](step, answer)
            door.observe(answer.take_mine())
            pending.extendleft(reversed(answer.done()))
        self.follow_views(conn, door)
        if self.peers is not None:
            self.peers.settled(conn)
        return closing

    def carry_now(self, conn: ConnId, door: Door | None, steps: Iterable[Step]) -> Reason | None:
        """``perform`` for steps that must not wait (a session's last outputs, at its end,
        or what flood control held, at shutdown): what needs the backend's answer is left
        undone (it can no longer come back to anyone), and what must be stored is kept
        for ``store_unsaved`` (an admin's ``/ban`` that flood control held is still a ban
        after the restart). ``door`` None: the steps are for others only (what the
        rules answer to the operator's own change, a ``chat-trio ban``, with ``conn`` 0)."""
        closing = None
        for step in steps:
            if isinstance(step, Answer):
                if door is not None:
                    self.hub.send(conn, door.render(step.events))
            elif (now := self._now.get(type(step))) is not None:
                audit.note(conn, step, self.chat.name_of)
                closing = now(conn, door, step) or closing
            elif isinstance(step, SaveAccount | SaveBan | NoteLogin | SaveRoom | SaveMarker):
                self.unsaved.append(step)
        if self.peers is not None and not self._hearing:
            self.peers.settled(conn)
        return closing

    def carry_remote(self, steps: Iterable[Output]) -> None:
        """Carry out what the rules answered to what another node told (nodes/peers.py):
        deliveries to local connections only. Nothing is told to the other nodes again,
        nor stored (the node it happened on did both)."""
        self._hearing = True
        try:
            self.carry_now(0, None, (s for s in steps if not isinstance(s, Record)))
        finally:
            self._hearing = False

    async def store_unsaved(self) -> None:
        """Store what ``carry_now`` kept, in order (at shutdown, while storage runs)."""
        unsaved, self.unsaved = self.unsaved, []
        for step in unsaved:
            await self._wait[type(step)](step, Outputs(0))

    def follow_views(self, conn: ConnId, door: Door) -> None:
        """The door now wants some rooms rendered another way (the text door's current
        room moved): tell the hub."""
        for room, view in door.views_changed():
            self.hub.subscribe(conn, room, view)

    # -- at once ---------------------------------------------------------------------------

    def _broadcast(self, conn: ConnId, door: Door | None, output: Broadcast) -> None:
        self.hub.publish(
            output.events, output.room, output.exclude, size(output.events), told=output.told
        )
        if self.peers is not None and not self._hearing:
            self.peers.told(conn, output)

    def _reply(self, conn: ConnId, door: Door | None, output: Reply) -> None:
        if output.to < 0:  # a person on another node (chat/remote.py): its node tells it
            if self.peers is not None and not self._hearing:
                self.peers.forward(conn, output.to, output.events, None)
        elif output.to == conn and door is not None:
            self.hub.send(conn, door.render(output.events))
        else:
            self.hub.send_events(output.to, output.events)
            if any(isinstance(e, RoomEntered | RoomLeft) for e in output.events):
                self.hub.refresh_views(output.to)  # kicked: its door's place moved

    def _subscribe(self, conn: ConnId, door: Door | None, output: Subscribe) -> None:
        if output.conn < 0:  # a person on another node: its node does it
            return
        if self.peers is not None:
            self.peers.moved(output.room)
        if output.conn == conn:
            view = door.view(output.room) if door is not None else None
        else:  # another's: a member kicked out of its last room, put in #lobby
            view = self.hub.view_of(output.conn, output.room)
        if view is not None:
            self.hub.subscribe(output.conn, output.room, view)

    def _unsubscribe(self, conn: ConnId, door: Door | None, output: Unsubscribe) -> None:
        self.hub.unsubscribe(output.conn, output.room)
        if self.peers is not None and output.conn > 0:
            self.peers.moved(output.room)

    def _close(self, conn: ConnId, door: Door | None, output: Close) -> Reason | None:
        if output.conn < 0:  # a person on another node: its node ends it
            if self.peers is not None and not self._hearing:
                self.peers.forward(conn, output.conn, (), output.reason)
            return None
        if output.conn == conn:
            return output.reason
        self.hub.finish(output.conn, output.reason)  # another user, kicked: after its last lines
        return None

    def _record(self, conn: ConnId, door: Door | None, output: Record) -> None:
        self.backend.record(output.entries)

    def _release_name(self, conn: ConnId, door: Door | None, output: ReleaseName) -> None:
        self.backend.release_name(output.key, output.conn)

    # -- waiting for the backend, the answer back through the rules -----------------------

    async def _load(self, output: LoadHistory, answer: Outputs) -> None:
        stored = await self.backend.load_room(output.room, self.chat.rules.history_lines)
        room = stored.name or output.room
        state = None if self.peers is None else await self.peers.room_state(room, output.conn)
        self.chat.history_loaded(
            output.conn, room, stored.entries, stored.topic, self.clock(), answer, state
        )

    async def _query(self, output: QueryHistory, answer: Outputs) -> None:
        entries = await self.backend.read_history(output)
        self.chat.history_read(output.conn, output, entries, answer)

    async def _targets(self, output: QueryTargets, answer: Outputs) -> None:
        targets = await self.backend.read_targets(output)
        self.chat.targets_read(output.conn, output, targets, answer)

    async def _find(self, output: FindMessage, answer: Outputs) -> None:
        entries = await self.backend.read_history(output.query)
        self.chat.message_found(output.conn, output, entries, answer)

    async def _forget(self, output: Forget, answer: Outputs) -> None:
        await self.backend.forget(output.query)

    async def _check(self, output: CheckPassword, answer: Outputs) -> None:
        verdict, admin = await self.backend.check_password(output.key, output.password)
        audit.password_checked(output.conn, self.chat.address_of(output.conn), output.key, verdict)
        self.counts.password_checks[verdict.value] += 1
        self.chat.password_checked(output.conn, verdict, admin, self.clock(), answer)

    async def _hash(self, output: HashPassword, answer: Outputs) -> None:
        hashed = await self.backend.hash_password(output.password)
        self.chat.password_hashed(output.conn, hashed, self.clock(), answer)

    async def _claim_name(self, output: ClaimName, answer: Outputs) -> None:
        claim = await self.backend.claim_name(output.key, output.conn, wait=output.wait)
        self.chat.name_claimed(output.conn, output.key, claim, self.clock(), answer)

    async def _save_account(self, output: SaveAccount, answer: Outputs) -> None:
        await self.backend.save_account(output.key, output.account)

    async def _save_ban(self, output: SaveBan, answer: Outputs) -> None:
        await self.backend.save_ban(output.kind, output.key, output.ban)

    async def _save_room(self, output: SaveRoom, answer: Outputs) -> None:
        await self.backend.save_room(output.key, output.record)

    async def _save_marker(self, output: SaveMarker, answer: Outputs) -> None:
        await self.backend.save_marker(output.account, output.target, output.at, output.keep)

    async def _note_login(self, output: NoteLogin, answer: Outputs) -> None:
        await self.backend.note_login(output.key)
