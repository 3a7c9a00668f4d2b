"""The operator's audit trail: one log line for each change that matters, saying who did
it, for ``grep``: names taken, renames, accounts made, changed or deleted, kicks, bans
(with their reasons), unbans and registered rooms (logins are logged where passwords are
checked, with the connection and its address, for fail2ban; the operator's own changes
where the server applies them). Never a password: none of these events holds one.

Read from the replies the rules send to the person who acted, so each change is logged
exactly once, whatever door it came through.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from chat_trio.chat.events import ConnId, Done, NickChanged, Welcome
from chat_trio.chat.outputs import Output, Reply
from chat_trio.chat.problems import Outcome
from chat_trio.chat.registry import Verdict

log = logging.getLogger("chat_trio.audit")

_SAID = {
    Outcome.REGISTERED: "account-created",
    Outcome.PASSWORD_CHANGED: "password-changed",
    Outcome.UNREGISTERED: "account-deleted",
    Outcome.KICKED: "kill",  # /kill: off the server (a room's /kick is not the server's)
    Outcome.BANNED: "ban",
    Outcome.UNBANNED: "unban",
    Outcome.ROOM_REGISTERED: "room-registered",
    Outcome.ROOM_DROPPED: "room-dropped",
    Outcome.ROOM_OP_ADDED: "room-op-added",
    Outcome.ROOM_OP_REMOVED: "room-op-removed",
}


def password_checked(conn: ConnId, address: str | None, account: str, verdict: Verdict) -> None:
    """One line per password checked, never the password: which connection, from which
    address (what fail2ban's filter matches), for which account, and the verdict."""
    log.info(
        "password-check conn=%d address=%s account=%s verdict=%s",
        conn, address or "-", account, verdict.value,
    )  # fmt: skip


def note(conn: ConnId, output: Output, name_of: Callable[[ConnId], str | None]) -> None:
    """Log ``output`` if it tells ``conn`` of such a change (``name_of`` says who that is;
    it is asked only then: this is called for every output, floods included)."""
    if not isinstance(output, Reply) or output.to != conn:
        return
    for event in output.events:
        if isinstance(event, Welcome):  # however the name came: at once, or after a login
            log.info("register conn=%d name=%s", conn, event.name)
        elif isinstance(event, NickChanged):
            log.info("rename conn=%d old=%s new=%s", conn, event.old, event.new)
        elif isinstance(event, Done) and event.outcome in _SAID:
            what, name = _SAID[event.outcome], name_of(conn) or "-"  # asked only now
            if event.outcome in (Outcome.KICKED, Outcome.BANNED, Outcome.UNBANNED):
                extra = f" target={(event.name or event.key)!r}"
                if event.outcome is not Outcome.UNBANNED:
                    extra += f" reason={event.text!r}"
                if event.outcome is Outcome.BANNED:
                    until = "forever" if math.isinf(event.until) else f"{event.until:.0f}"
                    extra += f" kind={event.kind} key={event.key} until={until}"
                log.info("%s conn=%d by=%s%s", what, conn, name, extra)
            elif event.room:  # a registered room: who, which, and the account listed
                account = f" account={event.name}" if event.name else ""
                log.info("%s conn=%d by=%s room=%s%s", what, conn, name, event.room, account)
            else:
                log.info("%s conn=%d name=%s", what, conn, event.name or name)
