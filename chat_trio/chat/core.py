"""The rules' front door: the calls the I/O layer makes, and which rule handles each intent.

Theory of operation. ``Chat`` is the ``World`` (world.py: the shared state) plus the calls
the I/O layer makes, each passing the time in and an ``Outputs`` to collect into:
``connect``, ``handle`` (one intent), ``expire``, the answers to slow work
(``history_loaded``, ``password_checked``, ``password_hashed``, ``name_claimed``),
``name_lost`` and ``disconnect``. The
I/O layer carries out the outputs in order. No call awaits, so each is atomic with
respect to every other connection: a shutdown or a kick can never interrupt a
half-applied change.

Each intent is handled by one function of the module that owns its concern (names, rooms,
messages, accounts, moderation), found in ``HANDLERS``; the phase table in state.py says
which intents each phase takes, and flood.py whether it may run now. The rules never see
bytes, syntax or wording, and never know which door a user came through.

Rules that span the concerns:

1. Every room a connection with a name was in gets exactly one ``Left`` for it when it
   disconnects, whatever the reason; during shutdown none are sent (everyone is leaving).
2. Every room line, join, leave, topic and nick change and private message is
   ``Record``ed (see world.py and the concern modules).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from chat_trio.chat import (
    accounts,
    flood,
    founders,
    markers,
    messages,
    moderation,
    names,
    registered,
    remote,
    rooms,
    usermodes,
)
from chat_trio.chat import intents as i
from chat_trio.chat.events import (
    CONVERSATION,
    AskName,
    ConnId,
    Entry,
    Event,
    Greeting,
    History,
    Invitation,
    Reason,
    Refused,
    RoomLeft,
    Targets,
)
from chat_trio.chat.outputs import (
    Claim,
    FindMessage,
    Outputs,
    QueryHistory,
    QueryTargets,
)
from chat_trio.chat.problems import Problem
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.chat.state import ACCEPTS, Phase, Step
from chat_trio.chat.vocabulary import LOBBY, REASON_MAX, look, name_key
from chat_trio.chat.world import Client, PendingName, Rules, World

Handler = Callable[[World, ConnId, Client, Any, Outputs], None]

_COUNTED = (Phase.NAMING, Phase.CHATTING)
"""The phases whose lines flood control counts (the others take no input)."""

HANDLERS: dict[type, Handler] = {
    i.ChooseName: names.choose,
    i.Rename: names.rename,
    i.LogIn: accounts.log_in,
    i.Register: accounts.register,
    i.ChangePassword: accounts.change_password,
    i.Unregister: accounts.unregister,
    i.Say: messages.say,
    i.SendPrivate: messages.send_private,
    i.SendTags: messages.send_tags,
    i.SetAway: messages.set_away,
    i.SetRealname: messages.set_realname,
    i.LookUpPast: names.look_up_past,
    i.Watch: names.watch,
    i.LookUp: messages.look_up,
    i.ReadHistory: messages.read_history,
    i.MarkRead: markers.mark_read,
    i.Redact: messages.redact,
    i.ReadTargets: messages.read_targets,
    i.Join: rooms.join,
    i.Focus: rooms.focus,
    i.Leave: rooms.leave,
    i.ShowTopic: rooms.show_topic,
    i.SetTopic: rooms.set_topic,
    i.ListUsers: rooms.list_users,
    i.ListRooms: rooms.list_rooms,
    i.SetRole: rooms.set_role,
    i.ShowModes: rooms.show_modes,
    i.SetMode: rooms.set_mode,
    i.Invite: rooms.invite,
    i.BanFromRoom: rooms.ban,
    i.UnbanFromRoom: rooms.unban,
    i.ShowBans: rooms.show_bans,
    i.ShowInvitations: rooms.show_invitations,
    i.Kick: rooms.kick,
    i.RegisterRoom: founders.register_room,
    i.DropRoom: founders.drop_room,
    i.ShowRoomInfo: founders.show_room_info,
    i.SetRoomOp: founders.set_room_op,
    i.Kill: moderation.kill,
    i.Ban: moderation.ban,
    i.Unban: moderation.unban,
    i.Oper: accounts.oper,
    i.SetUserModes: usermodes.set_modes,
    i.ShowUserModes: usermodes.show_modes,
    i.SendWallops: usermodes.wallops,
}
"""Which function handles each intent (Quit and Hangup are handled here)."""


class Chat(World):
    """The chat rules and the state they govern. See the module docstring."""

    # -- queries ---------------------------------------------------------------------------

    @property
    def online(self) -> int:
        """How many users have a name."""
        return len(self.names)

    def name_of(self, conn: ConnId) -> str | None:
        """The username of ``conn``, or None before it has one."""
        client = self.clients.get(conn)
        return client.name if client is not None and client.name else None

    def address_of(self, conn: ConnId) -> str | None:
        """The IP address ``conn`` came from ("" if unknown; None: not connected)."""
        client = self.clients.get(conn)
        return client.address if client is not None else None

    def phase(self, conn: ConnId) -> Phase:
        """Where ``conn`` is in its life (CLOSING once it is gone, or while shutting down)."""
        client = self.clients.get(conn)
        if client is None or self.shutting_down:
            return Phase.CLOSING
        return client.phase

    def deadline(self, conn: ConnId) -> float:
        """When ``expire`` should next be called for ``conn`` (``inf``: never)."""
        client = self.clients.get(conn)
        if client is None:
            return math.inf
        if client.phase is Phase.NAMING:
            return min(client.deadline, flood.next_token(self.rules, client))
        if client.phase is not Phase.CHATTING:
            return math.inf
        return min(self.idle_deadline(client), flood.next_token(self.rules, client))

    def reach(self, conn: ConnId, intent: i.Intent) -> tuple[tuple[str, ...], ConnId | None]:
        """Where carrying out ``intent`` may deliver besides to ``conn`` itself: the keys of
        the rooms it may broadcast to, and another connection it may reply to. Flow
        control holds an intent while one of them cannot take more (delivery/flow.py);
        answers to ``conn`` itself are its own connection's business."""
        client = self.clients.get(conn)
        if client is None:
            return (), None
        if isinstance(intent, i.Kick):  # the kicked is told, and may land in #lobby
            where = (name_key(intent.room), name_key(LOBBY))
            return where, self.names.get(look(intent.name))
        if isinstance(intent, i.BanFromRoom):  # so may whoever a kick-ban puts out
            return (name_key(intent.room), name_key(LOBBY)), self.names.get(look(intent.target))
        if isinstance(intent, i.Invite):  # the invited is told, and the room's operators
            return (name_key(intent.room),), self.names.get(look(intent.name))
        if isinstance(intent, i.Say | i.Join | i.Leave | i.SetTopic | i.SetRole | i.SetMode):
            return (name_key(intent.room),), None
        if isinstance(intent, i.UnbanFromRoom):
            return (name_key(intent.room),), None
        if isinstance(intent, i.SendPrivate):
            return (), self.names.get(look(intent.name))
        if isinstance(intent, i.SendTags):
            if intent.target.startswith("#"):
                return (name_key(intent.target),), None
            return (), self.names.get(look(intent.target))
        if isinstance(intent, i.ChooseName):
            return (name_key(LOBBY),), None
        if isinstance(intent, i.Kill | i.Ban):  # the one put out is told, and its rooms
            return self._whose(intent.name if isinstance(intent, i.Kill) else intent.target)
        if isinstance(intent, i.LogIn):  # a takeover: the name's holder is told, and its rooms
            rooms, holder = self._whose(intent.name)
            return tuple(dict.fromkeys((*client.rooms, *rooms))), holder
        if isinstance(intent, i.Rename | i.SetAway | i.SetRealname | i.Register | i.Unregister):
            return tuple(client.rooms), None
        return (), None

    def _whose(self, name: str) -> tuple[tuple[str, ...], ConnId | None]:
        """The rooms of whoever is online as ``name``, and its connection (none: nothing)."""
        holder = self.names.get(look(name))
        return (tuple(self.clients[holder].rooms), holder) if holder is not None else ((), None)

    # -- the I/O layer's calls -------------------------------------------------------------

    def connect(self, conn: ConnId, now: float, out: Outputs, address: str = "") -> None:
        """A new connection arrived from ``address`` (an IP address, "" if unknown): greet it
        and ask for a name, or refuse it if the address is banned."""
        if conn in self.clients:
            raise ValueError(f"connection {conn} is already connected")
        client = self.clients[conn] = Client(
            deadline=now + self.rules.name_timeout, since=self.clock(), last_input=now,
            tokens=float(self.rules.flood_burst), stamp=now, address=address,
        )  # fmt: skip
        self.now = now
        ban = self.registry.ban_of("address", address, self.clock()) if address else None
        if ban is not None:
            client.step(Step.END)
            out.reply(conn, Refused(Problem.ADDRESS_BANNED, until=ban.until))
            out.close(conn, Reason.BANNED)
            return
        out.reply(conn, Greeting(), AskName())

    def heard(self, conn: ConnId, now: float) -> None:
        """``conn`` sent something (for the idle timeout and /whois)."""
        self.clients[conn].last_input = self.now = now

    def handle(
        self, conn: ConnId, intent: i.Intent, now: float, out: Outputs, *, free: bool = False
    ) -> bool:
        """Carry out one intent of ``conn``. Returns False if flood control holds it: the
        caller keeps it (and all input after it) and tries again at ``deadline``, telling
        ``waiting`` how many wait. ``free``: the door asked on the user's behalf."""
        client = self.clients[conn]
        if self.shutting_down or client.phase is Phase.CLOSING:
            return True
        self.now = now
        phase = client.phase
        counted = not free and not isinstance(intent, i.Hangup) and phase in _COUNTED
        if counted and not flood.spend(self, client, now):
            return False
        if not isinstance(intent, ACCEPTS[phase]):
            if phase is Phase.NAMING:
                out.reply(conn, Refused(Problem.NEEDS_NAME), AskName())
            return True  # LOGGING_IN or BUSY: the I/O layer waits; a bug if not
        if isinstance(intent, i.Quit):
            client.parting = intent.reason[:REASON_MAX]
            self.end(conn, client, out, Reason.INTERRUPTED if intent.interrupted else Reason.QUIT)
        elif isinstance(intent, i.Hangup):
            client.step(Step.END)
            out.close(conn, Reason.PING_TIMEOUT if intent.timed_out else Reason.CLOSED)
        else:
            HANDLERS[type(intent)](self, conn, client, intent, out)
        return True

    def spend(self, conn: ConnId, now: float) -> bool:
        """A line of ``conn`` that its door answers itself (``/help``, a line too long,
        IRC's PONG) counts for flood control like any other. Returns False if it must
        wait, as ``handle`` does."""
        client = self.clients.get(conn)
        if client is None or self.shutting_down or client.phase not in _COUNTED:
            return True
        self.now = now
        return flood.spend(self, client, now)

    def waiting(self, conn: ConnId, count: int, out: Outputs) -> None:
        """``count`` items of ``conn`` wait for flood control (see ``handle``)."""
        client = self.clients[conn]
        if client.phase in _COUNTED and not self.shutting_down:
            flood.waiting(self, conn, client, count, out)

    def input_done(self, conn: ConnId, now: float, out: Outputs) -> None:
        """The door has no more intents for now (and none is held): a name chosen too late
        still closes the connection, and the next flood episode is told again."""
        client = self.clients.get(conn)
        if client is None:
            return
        if client.phase is Phase.NAMING and now >= client.deadline:
            self._name_timeout(conn, client, out)
        if not client.held:
            client.warned = False

    def expire(self, conn: ConnId, now: float, out: Outputs) -> None:
        """Time has passed: close ``conn`` if it is past a deadline. (Intents held by flood
        control may run again now: the caller hands them in.)"""
        client = self.clients[conn]
        if self.shutting_down:
            return
        self.now = now
        if client.phase is Phase.NAMING and now >= client.deadline:
            self._name_timeout(conn, client, out)
        elif client.phase is Phase.CHATTING and now >= self.idle_deadline(client):
            out.reply(conn, Refused(Problem.IDLE, limit=self.rules.idle_timeout))
            self.end(conn, client, out, Reason.IDLE)

    def _name_timeout(self, conn: ConnId, client: Client, out: Outputs) -> None:
        out.reply(conn, Refused(Problem.NAME_TIMEOUT, limit=self.rules.name_timeout))
        self.end(conn, client, out, Reason.NAME_TIMEOUT)

    # -- people on other nodes (remote.py) -------------------------------------------------

    def profile(self, conn: ConnId) -> remote.Profile | None:
        """What other nodes should know of the local ``conn`` now (None: no name, or gone)."""
        return remote.profile(self, conn)

    def remote_news(
        self,
        mirror: ConnId,
        news: tuple[Event, ...],
        now: remote.Profile | None,
        reason: Reason,
        out: Outputs,
    ) -> bool:
        """A person on another node (``mirror`` here) changed: ``news`` as its node told
        it, and what it is ``now`` (None: gone, for ``reason``). False: its name is held
        here (remote.py's rule 3)."""
        return remote.apply(self, mirror, news, now, reason, out)

    def remote_heard(self, room: str, events: tuple[Event, ...], at: float, out: Outputs) -> None:
        """``room``'s events on another node (its lines, topics, role changes), said ``at``
        (Unix time there)."""
        remote.heard(self, room, events, at, out)

    def node_gone(self, mirrors: list[ConnId], out: Outputs) -> None:
        """Another node is gone: its people (``mirrors`` here) quit, their connection lost."""
        remote.forget_node(self, mirrors, out)

    def peers_unreachable(self, out: Outputs) -> None:
        """The other nodes are out of reach: say so, once, to whom it concerns."""
        remote.unreachable(self, out)

    def peers_restored(self, seconds: float, out: Outputs) -> None:
        """Contact with the other nodes came back after ``seconds``: say what may be lost."""
        remote.restored(self, seconds, out)

    def peers_missed(self, rooms: list[str], seconds: float, out: Outputs) -> None:
        """Contact with the other nodes came back after ``seconds``; in ``rooms`` (keys)
        messages from elsewhere were lost meanwhile."""
        remote.missed(self, rooms, seconds, out)

    def put_out_elsewhere(self, conn: ConnId, left: RoomLeft, out: Outputs) -> None:
        """An operator on another node put the local ``conn`` out of a room (``left``)."""
        remote.put_out(self, conn, left, out)

    def invited_elsewhere(self, conn: ConnId, invitation: Invitation) -> None:
        """An operator on another node invited the local ``conn`` (``invitation``)."""
        remote.invited(self, conn, invitation)

    def ended_elsewhere(self, conn: ConnId, reason: Reason, text: str, out: Outputs) -> None:
        """Another node ended the local ``conn`` for ``reason`` (saying ``text``)."""
        remote.ended(self, conn, reason, text, out)

    def history_loaded(
        self,
        conn: ConnId,
        room: str,
        entries: Iterable[Entry],
        topic: str,
        now: float,
        out: Outputs,
        state: remote.RoomState | None = None,
    ) -> None:
        """The history ``LoadHistory`` asked for: remember it and let ``conn`` join ``room``.

        ``entries`` are the room's latest conversation lines, oldest first; ``topic`` its
        last topic; ``state``, with several nodes, how the room is run as they keep it
        (remote.py's rule 7; None: one node, or it could not be read).
        """
        client = self.clients.get(conn)
        joining = client is not None and not self.shutting_down and client.phase is Phase.BUSY
        self.now = now
        if joining and state is not None:
            remote.shared(self, room, state)
        memory = self.memory(room, topic)
        memory.recent.extend(e for e in entries if e.kind in CONVERSATION)
        rooms.remember(self, room, memory, joining=joining)
        if client is None or not joining:
            return
        founds = None if state is None else state.founds
        unknown = state is None and self.shared_names  # (the nodes could not be asked)
        rooms.history_loaded(self, conn, client, room, out, founds, unknown)

    def password_checked(
        self, conn: ConnId, verdict: Verdict, admin: bool, now: float, out: Outputs
    ) -> None:
        """The answer to ``CheckPassword`` (right, wrong, or not checked: storage is
        down), and whether the account (as stored) is an admin's."""
        if (client := self._answered(conn, now)) is not None:
            accounts.checked(self, conn, client, verdict, admin, out)

    def password_hashed(self, conn: ConnId, hashed: str, now: float, out: Outputs) -> None:
        """The answer to ``HashPassword``: store the account it was for."""
        if (client := self._answered(conn, now)) is not None:
            accounts.hashed(self, conn, client, hashed, out)

    def name_claimed(self, conn: ConnId, key: str, answer: Claim, now: float, out: Outputs) -> None:
        """The answer to ``ClaimName``: the name whose key is ``key`` is ``conn``'s on every
        node now, or someone holds it, or the nodes could not be asked (names.py's rule
        3). A name granted to a connection that no longer waits for it (gone, closing,
        the server shutting down) is let go at once."""
        client = self.clients.get(conn)
        pending = client.pending if client is not None else None
        if client is None or not isinstance(pending, PendingName) or self.shutting_down:
            if answer is Claim.GRANTED:
                self.let_go(conn, key, out)
            return
        client.pending = None
        if client.phase is Phase.CLOSING:
            if answer is Claim.GRANTED:
                self.let_go(conn, key, out)
            return
        self.now = now
        if pending.login:
            accounts.name_claimed(self, conn, client, pending, answer, out)
        else:
            names.claimed(self, conn, client, pending, answer, out)

    def name_lost(self, conn: ConnId, key: str, out: Outputs) -> None:
        """The name whose key is ``key`` is no longer ``conn``'s on the other nodes (this
        node was cut off from them for longer than a lease lives, and another node gave
        it to someone): ``conn`` is told why and disconnected, so that two users never
        chat under one name (docs/storage.md, "Names across nodes")."""
        client = self.clients.get(conn)
        if client is None or not client.name or look(client.name) != key:
            return  # renamed or gone meanwhile: nothing of it is lost
        if client.phase is Phase.CLOSING or self.shutting_down:
            return
        out.reply(conn, Refused(Problem.NAME_LOST, name=client.name))
        self.end(conn, client, out, Reason.NAME_LOST)

    def history_read(
        self, conn: ConnId, query: QueryHistory, entries: Sequence[Entry] | None, out: Outputs
    ) -> None:
        """The answer to ``QueryHistory``: the entries, oldest first, or None if storage
        could not answer."""
        if conn not in self.clients or self.shutting_down:
            return
        if entries is None:
            out.reply(conn, Refused(Problem.HISTORY_UNAVAILABLE))
            return
        title = query.peer or query.room
        out.reply(conn, History(title, messages.fit(entries), self.today(), asked=True))

    def targets_read(
        self,
        conn: ConnId,
        query: QueryTargets,
        targets: Sequence[tuple[str, float]] | None,
        out: Outputs,
    ) -> None:
        """The answer to ``QueryTargets``, or None if storage could not answer."""
        if conn not in self.clients or self.shutting_down:
            return
        if targets is None:
            out.reply(conn, Refused(Problem.HISTORY_UNAVAILABLE))
            return
        out.reply(conn, Targets(tuple(targets)))

    def message_found(
        self, conn: ConnId, find: FindMessage, entries: Sequence[Entry] | None, out: Outputs
    ) -> None:
        """The answer to ``FindMessage``: the message alone, none (no such message), or
        None if storage could not answer."""
        client = self.clients.get(conn)
        if client is None or self.shutting_down:
            return
        messages.found(self, conn, client, find, entries, out)

    def _answered(self, conn: ConnId, now: float) -> Client | None:
        client = self.clients.get(conn)
        if client is None or self.shutting_down or client.pending is None:
            return None
        self.now = now
        return client

    def seed_history(self, room: str, entries: Iterable[Entry], topic: str) -> None:
        """Before serving: what storage remembers of ``room`` (``#lobby`` at start-up)."""
        key = name_key(room)
        memory = self.rooms[key].memory if key in self.rooms else self.memory(room)
        memory.topic = topic
        memory.recent.clear()
        memory.recent.extend(e for e in entries if e.kind in CONVERSATION)
        if key not in self.rooms:
            self.remember(key, memory)

    def load_accounts(self, accounts: Iterable[Account], bans: Iterable[Ban]) -> None:
        """Before serving: the accounts and bans storage holds."""
        self.registry.load(accounts)
        self.registry.bans = {(b.kind, b.key): b for b in bans}

    def load_rooms(self, records: Iterable[RegisteredRoom]) -> None:
        """Before serving (after ``load_accounts`` and ``seed_history``): the registered
        rooms storage holds, ``#lobby``'s topic and modes among them. Operators listed by
        an account that is gone are left off (registry.py's rule 4)."""
        ids = {a.id for a in self.registry.accounts.values()}
        self.registry.rooms = {
            name_key(r.name): attrs.evolve(r, ops=tuple(o for o in r.ops if o in ids))
            for r in records
        }
        lobby = self.registry.rooms.get(name_key(LOBBY))
        if lobby is not None:  # it always exists: it gets back what its admins set now
            registered.restore(self, self.rooms[name_key(LOBBY)], lobby)

    def load_markers(self, markers: Iterable[tuple[str, str, int]]) -> None:
        """Before serving: the read markers storage holds, as (account id, name_key of
        the target, Unix time in milliseconds), the least recently set first."""
        for account, target, at in markers:
            self.markers.setdefault(account, {})[target] = at

    def account_changed(self, key: str, account: Account | None) -> None:
        """The operator changed the account ``key`` while the server runs (None: deleted).
        A promotion or demotion counts at once: ``is_admin`` reads the account each time."""
        if account is None:
            self.remove_account(key)
        else:
            self.registry.put(key, account)

    def ban_changed(self, kind: str, key: str, ban: Ban | None, out: Outputs) -> None:
        """The operator set (or lifted: None) the ban on (``kind``, ``key``) while the
        server runs; whoever it matches is thrown out (``moderation.operator_ban``)."""
        moderation.operator_ban(self, kind, key, ban, out)

    def disconnect(self, conn: ConnId, reason: Reason, out: Outputs) -> None:
        """``conn`` is gone (for ``reason``): free its name and tell each of its rooms once."""
        client = self.clients.pop(conn, None)
        if client is not None:
            self.release(conn, client, reason, out)
            self.identify_account(conn, client, "", "")

    def reload(self, rules: Rules) -> None:
        """The operator reloaded the settings (SIGHUP): the reserved names and the admins
        are ``rules``' from now on (for names asked for and commands typed from now on;
        nobody online is renamed); the other rules stay as the server started with them."""
        self.rules = attrs.evolve(
            self.rules, reserved_names=rules.reserved_names, admins=rules.admins
        )

    def lift_flood_control(self) -> None:
        """The server is about to shut down: what flood control holds may run now (the
        I/O layer hands it in before ``shut_down``); users were told "delayed, not lost"."""
        self.flood_lifted = True

    def shut_down(self) -> None:
        """The server is shutting down: ignore input and send no more leave notices."""
        self.shutting_down = True
