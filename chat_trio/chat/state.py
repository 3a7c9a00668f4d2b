"""A connection's named states and the one table of transitions between them.

Theory of operation. A connection starts NAMING. Choosing a free name makes it CHATTING;
``name password`` (or a door's login) first asks the I/O layer to check the password,
and the connection is LOGGING_IN until the answer comes. Where several nodes share the
names (``World.shared_names``: ``--redis``), a first name free here, or the name a login
takes, is first claimed across the nodes, and the connection is CLAIMING until the answer
comes. While CHATTING, a request that needs slow work (a room's history loaded, a
password checked or hashed, a new name claimed across the nodes) makes it BUSY until
the answer; its door holds its further input meanwhile. Anything that ends the
connection (quit, hang-up, a kick, a timeout, too many bad names) makes it CLOSING, which
ignores all further input. A person on another node is mirrored here as a client that
stays REMOTE (chat/remote.py). The whole server SHUTTING_DOWN is a flag of the rules
(``Chat.shut_down``), not a state of each connection: it stops all input at once.

Rules:

1. Only the transitions in ``TRANSITIONS`` happen; ``advance`` raises on any other, so a
   bug shows up as an error rather than as a half-registered user.
2. Only the intents in ``ACCEPTS[phase]`` are handled in ``phase``: a NAMING connection
   may choose a name, log in, list users and rooms, or quit; LOGGING_IN, CLAIMING and
   BUSY take none (the door holds them, see delivery/session.py); CLOSING takes none.

This module never imports trio.
"""

from __future__ import annotations

import enum

from chat_trio.chat import intents as i


class Phase(enum.Enum):
    """Where one connection is in its life."""

    NAMING = "naming"  #: choosing a first name
    LOGGING_IN = "logging-in"  #: waiting for a password check before it has a name
    CLAIMING = "claiming"  #: waiting for its first name to be claimed across the nodes
    CHATTING = "chatting"  #: has a name, is in rooms
    BUSY = "busy"  #: chatting, waiting for history or a password check or hash
    CLOSING = "closing"  #: leaving; input is ignored
    REMOTE = "remote"  #: a person connected to another node (remote.py): never takes
    #: input here and never moves; it is gone when its node says so


class Step(enum.Enum):
    """What moves a connection from one phase to another."""

    NAMED = "named"  #: a free name was taken, or a login succeeded
    ASK_PASSWORD = "ask-password"  #: a password check began (logging in at the prompt)
    REFUSED = "refused"  #: the login failed, or the name was not had: choose again
    CLAIM = "claim"  #: the first name is free here; the other nodes are asked (--redis)
    WAIT = "wait"  #: slow work began for a chatting user
    RESUME = "resume"  #: its answer arrived
    END = "end"  #: quit, hang-up, kick, ban, timeout, flooding, too many bad names


TRANSITIONS: dict[tuple[Phase, Step], Phase] = {
    (Phase.NAMING, Step.NAMED): Phase.CHATTING,
    (Phase.NAMING, Step.ASK_PASSWORD): Phase.LOGGING_IN,
    (Phase.LOGGING_IN, Step.NAMED): Phase.CHATTING,
    (Phase.LOGGING_IN, Step.REFUSED): Phase.NAMING,
    (Phase.NAMING, Step.CLAIM): Phase.CLAIMING,
    (Phase.LOGGING_IN, Step.CLAIM): Phase.CLAIMING,
    (Phase.CLAIMING, Step.NAMED): Phase.CHATTING,
    (Phase.CLAIMING, Step.REFUSED): Phase.NAMING,
    (Phase.CHATTING, Step.WAIT): Phase.BUSY,
    (Phase.BUSY, Step.RESUME): Phase.CHATTING,
    (Phase.NAMING, Step.END): Phase.CLOSING,
    (Phase.LOGGING_IN, Step.END): Phase.CLOSING,
    (Phase.CLAIMING, Step.END): Phase.CLOSING,
    (Phase.CHATTING, Step.END): Phase.CLOSING,
    (Phase.BUSY, Step.END): Phase.CLOSING,
}
"""Every transition there is. Diagram (docs/architecture.md is drawn from this)::

    NAMING --named--> CHATTING --wait--> BUSY --resume--> CHATTING
    NAMING --ask-password--> LOGGING_IN --named--> CHATTING
                             LOGGING_IN --refused--> NAMING
    NAMING, LOGGING_IN --claim--> CLAIMING --named--> CHATTING
                                  CLAIMING --refused--> NAMING
    any but CLOSING --end--> CLOSING
"""

_ANYTIME = (i.Quit, i.Hangup, i.ListUsers, i.ListRooms)

ACCEPTS: dict[Phase, tuple[type, ...]] = {
    Phase.NAMING: (i.ChooseName, i.LogIn, *_ANYTIME),
    Phase.LOGGING_IN: (),
    Phase.CLAIMING: (),
    Phase.CHATTING: (
        i.LogIn,
        i.Rename,
        i.Say,
        i.SendPrivate,
        i.SendTags,
        i.SetAway,
        i.SetRealname,
        i.LookUpPast,
        i.Watch,
        i.Join,
        i.Focus,
        i.Leave,
        i.ShowTopic,
        i.SetTopic,
        i.LookUp,
        i.ReadHistory,
        i.MarkRead,
        i.ReadTargets,
        i.Redact,
        i.Register,
        i.ChangePassword,
        i.Unregister,
        i.SetRole,
        i.ShowModes,
        i.SetMode,
        i.Invite,
        i.BanFromRoom,
        i.UnbanFromRoom,
        i.ShowBans,
        i.ShowInvitations,
        i.Kick,
        i.RegisterRoom,
        i.DropRoom,
        i.ShowRoomInfo,
        i.SetRoomOp,
        i.Kill,
        i.Ban,
        i.Unban,
        i.Oper,
        i.SetUserModes,
        i.ShowUserModes,
        i.SendWallops,
        *_ANYTIME,
    ),
    Phase.BUSY: (),
    Phase.CLOSING: (),
    Phase.REMOTE: (),
}
"""The intents each phase handles; any other is refused (NAMING: ``NEEDS_NAME``)."""


def advance(phase: Phase, step: Step) -> Phase:
    """The phase after ``step`` from ``phase``.

    Raises:
        ValueError: the table has no such transition (a bug in the rules).
    """
    try:
        return TRANSITIONS[(phase, step)]
    except KeyError:
        raise ValueError(f"no transition from {phase.name} on {step.name}") from None
