"""Accounts: registering a name, logging in to it, changing or deleting its password.

The password work itself (argon2id) is slow, so it is never done here: the rules ask the
I/O layer to ``CheckPassword`` or ``HashPassword`` and are called back with the answer
(``checked``, ``hashed``); the connection is LOGGING_IN or BUSY meanwhile, and what the
work was for is kept as a typed ``Pending`` value. Throttling and bans: registry.py.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import math

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat import moderation, names, registered
from chat_trio.chat.events import (
    AccountChanged,
    AskName,
    ConnId,
    Done,
    Reason,
    Refused,
    UserMode,
    UserModes,
)
from chat_trio.chat.outputs import (
    CheckPassword,
    Claim,
    HashPassword,
    NoteLogin,
    Outputs,
    SaveAccount,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registry import Account, Verdict, check_password
from chat_trio.chat.state import Phase, Step
from chat_trio.chat.vocabulary import NAME_MAX, look, name_key
from chat_trio.chat.world import (
    Client,
    PendingLogin,
    PendingName,
    PendingOper,
    PendingPasswordChange,
    PendingRegister,
    PendingRehash,
    PendingUnregister,
    World,
)


def log_in(world: World, conn: ConnId, client: Client, intent: i.LogIn, out: Outputs) -> None:
    if client.phase is Phase.NAMING:
        client.lobby = intent.lobby
    client.identify(intent.user, intent.realname)
    problem = begin_login(world, conn, client, intent.name, intent.password, out)
    if problem is None:
        return  # the answer comes with ``checked``
    if client.phase is Phase.NAMING:
        names.refuse(world, conn, client, problem, out, counts=problem.problem in _FAILURES)
    else:
        out.reply(conn, problem)


_FAILURES = frozenset({Problem.NO_ACCOUNT})
"""Refused logins at the prompt that use up one of ``Rules.name_attempts`` (with wrong
passwords). The name being online already, a ban or the throttle are not the typist's
mistakes: they are said, and the prompt comes again, as often as need be."""


def begin_login(
    world: World, conn: ConnId, client: Client, name: str, password: str, out: Outputs
) -> Refused | None:
    """Start checking ``password`` for the account ``name``, or return why not."""
    key = name_key(name)
    registry = world.registry
    account = registry.accounts.get(key)
    if account is None:
        return Refused(Problem.NO_ACCOUNT, name=name[:NAME_MAX])
    ban = registry.ban_of("account", key, world.clock())
    if ban is not None:
        return Refused(Problem.ACCOUNT_BANNED, name=account.name, until=ban.until)
    if (throttled := _throttled(world, key, client)) is not None:
        return throttled
    client.pending = PendingLogin(account.name)
    client.step(Step.ASK_PASSWORD if client.phase is Phase.NAMING else Step.WAIT)
    _check(world, conn, client, key, password, out)
    return None


def _throttled(world: World, key: str, client: Client) -> Refused | None:
    """Why a password of the account ``key`` may not be checked for ``client`` now."""
    wait = world.registry.check_wait(key, client.address, world.now)
    return Refused(Problem.LOGIN_THROTTLED, limit=math.ceil(wait)) if wait > 0 else None


def _check(
    world: World, conn: ConnId, client: Client, key: str, password: str, out: Outputs
) -> None:
    """Ask for ``password`` to be checked: it counts as a failure until the answer comes."""
    world.registry.check_begins(key, client.address, world.now)
    out.add(CheckPassword(conn, key, password))


def checked(
    world: World, conn: ConnId, client: Client, verdict: Verdict, admin: bool, out: Outputs
) -> None:
    """The answer to ``CheckPassword``, and whether the account (as stored) is an
    admin's. Goes on with whatever asked for the check."""
    pending, client.pending = client.pending, None
    key = (
        name_key(pending.name)
        if isinstance(pending, PendingLogin | PendingOper)
        else client.account
    )
    world.registry.check_answered(key, client.address, verdict)
    if client.phase is Phase.CLOSING:  # thrown out meanwhile (a kick, a takeover): it ends
        return
    ok = verdict is Verdict.RIGHT
    account = world.registry.accounts.get(key)
    if ok and account is not None and account.admin != admin:
        account = world.registry.put(key, attrs.evolve(account, admin=admin))
    if verdict is Verdict.UNAVAILABLE:  # not the typist's mistake: nothing counts
        unavailable = Refused(Problem.ACCOUNTS_UNAVAILABLE)
        _refuse_check(world, conn, client, unavailable, out, counts=False)
        return
    if isinstance(pending, PendingLogin):
        _logged_in(world, conn, client, pending.name, account if ok else None, out)
        return
    client.step(Step.RESUME)
    if isinstance(pending, PendingOper):
        _opered(world, conn, client, key, pending.name, ok, out)
        return
    if isinstance(pending, PendingPasswordChange) and ok:
        client.pending = PendingRehash()
        client.step(Step.WAIT)
        out.add(HashPassword(conn, pending.new))
    elif isinstance(pending, PendingUnregister) and ok:
        world.remove_account(key)
        world.identify_account(conn, client, "", "")
        out.add(SaveAccount(key, None))
        out.reply(conn, Done(Outcome.UNREGISTERED, name=client.name))
        _tell_rooms(world, conn, client, out)
    else:
        out.reply(conn, Refused(Problem.WRONG_PASSWORD))


def oper(world: World, conn: ConnId, client: Client, intent: i.Oper, out: Outputs) -> None:
    """``Oper``: check the password of the account ``intent.name`` (as a login's is: in
    the I/O layer, throttled alike), whether it is an admin's or not; the answer comes to
    ``_opered``, which makes an admin's an operator."""
    key = name_key(intent.name)
    if key not in world.registry.accounts:  # (which names are registered is no secret)
        out.reply(conn, Refused(Problem.NOT_OPER, name=intent.name[:NAME_MAX]))
    elif problem := _throttled(world, key, client):  # any account's password is checked,
        out.reply(conn, problem)  # an admin's or not, so its answer tells nobody which is
    else:
        client.pending = PendingOper(world.registry.accounts[key].name)
        client.step(Step.WAIT)
        _check(world, conn, client, key, intent.password, out)


def _opered(
    world: World, conn: ConnId, client: Client, key: str, name: str, ok: bool, out: Outputs
) -> None:
    """The password ``Oper`` gave for the account ``key`` was checked (``ok``: right)."""
    if not ok:
        out.reply(conn, Refused(Problem.OPER_PASSWORD, name=name))
    elif not world.admin_account(key):  # no longer an admin's, as storage says
        out.reply(conn, Refused(Problem.NOT_OPER, name=name))
    else:
        was = bool(client.operator)
        client.operator = key
        modes = client.modes | {UserMode.OPERATOR}
        added = () if was else (UserMode.OPERATOR,)
        shown = UserModes(client.name, modes, added, user=client.user)
        out.reply(conn, Done(Outcome.OPERATOR, name=name), shown)


def _refuse_check(
    world: World, conn: ConnId, client: Client, refused: Refused, out: Outputs, counts: bool
) -> None:
    """A login's check said no: back to naming (``counts``: as a bad attempt), or, for a
    user already chatting (/login), just the refusal."""
    if client.phase is Phase.LOGGING_IN:
        client.step(Step.REFUSED)
        names.refuse(world, conn, client, refused, out, counts=counts)
    else:
        client.step(Step.RESUME)
        out.reply(conn, refused)


def _logged_in(
    world: World, conn: ConnId, client: Client, name: str, account: Account | None, out: Outputs
) -> None:
    """The password for the account ``name`` was checked: ``account`` if it was right."""
    if account is None:
        _refuse_check(
            world, conn, client, Refused(Problem.WRONG_PASSWORD_FOR, name=name), out, True
        )
        return
    old = client.name
    rules = world.rules
    took = False
    if names.check_name(name, rules.reserved_names, unicode=rules.unicode_names) is None:
        took = _take_over(world, conn, name, out)  # (else the claim says why; nobody is out)
    problem = names.claim(
        world, conn, client, name, out, owner=True, account_id=account.id, wait=took
    )
    if not isinstance(problem, names.Claiming):  # (else the answer comes to name_claimed)
        _took_name(world, conn, client, old, account.id, problem, out)


def name_claimed(
    world: World, conn: ConnId, client: Client, pending: PendingName, answer: Claim, out: Outputs
) -> None:
    """The other nodes answered the claim of the name of the account a login's password
    was right for (names.py's rule 3): go on with the login."""
    old = client.name
    problem = names.settle(world, conn, client, pending, answer, out)
    _took_name(world, conn, client, old, pending.account_id, problem, out)


def _took_name(
    world: World,
    conn: ConnId,
    client: Client,
    old: str,
    account_id: str,
    problem: Refused | None,
    out: Outputs,
) -> None:
    """A login took its account's name (``problem`` None), or could not: say so, and go
    on as the connection's phase says (a first name, or a login while chatting)."""
    naming = client.phase in (Phase.LOGGING_IN, Phase.CLAIMING)
    if problem is not None:  # taken meanwhile by a login elsewhere
        if naming:
            client.step(Step.REFUSED)
            out.reply(conn, problem, AskName())
        else:
            client.step(Step.RESUME)
            out.reply(conn, problem)
        return
    world.identify_account(conn, client, name_key(client.name), account_id)
    out.reply(conn, Done(Outcome.LOGGED_IN, name=client.name))
    if naming:
        names.registered(world, conn, client, out)
    else:
        client.step(Step.RESUME)
        if old != client.name:
            names.renamed(world, conn, client, old, out)
        _tell_rooms(world, conn, client, out)
        registered.logged_in(world, conn, client, out)
    # Last: the session waits for this write, and the welcome need not wait with it.
    out.add(NoteLogin(client.account))


def _take_over(world: World, conn: ConnId, name: str, out: Outputs) -> bool:
    """The account ``name``'s password was right on ``conn``: another connection that holds
    the name (a stale one, usually: a client that lost its network) is told and closed,
    and leaves its rooms at once, so that the name is free for this login now (ergo's
    GHOST; without it the owner would wait for the old one's ping timeout). Returns
    whether one was (on another node, its node lets the name go a moment later)."""
    holder = world.names.get(look(name), conn)
    if holder == conn:
        return False
    old = world.clients[holder]
    if name_key(old.name) != name_key(name):  # a look-alike: not the account's own name
        return False
    moderation.throw_out(world, holder, Outcome.REPLACED_YOU, old.name, "", Reason.REPLACED, out)
    world.release(holder, old, Reason.REPLACED, out)
    return True


def _tell_rooms(world: World, conn: ConnId, client: Client, out: Outputs) -> None:
    """The account of a chatting user changed: tell its rooms."""
    event = AccountChanged(
        client.name, world.account_name(client), world.is_admin(client), client.user
    )
    world.tell_peers(conn, client, event, out)


def hashed(world: World, conn: ConnId, client: Client, hashed: str, out: Outputs) -> None:
    """The answer to ``HashPassword``: store the account it was for."""
    pending, client.pending = client.pending, None
    if client.phase is Phase.CLOSING:  # thrown out meanwhile: nobody to store it for
        return
    client.step(Step.RESUME)
    accounts = world.registry.accounts
    if isinstance(pending, PendingRegister):
        key = name_key(client.name)
        if world.registry.like(client.name) not in (None, key) or key in accounts:
            out.reply(conn, Refused(Problem.REGISTERED_MEANWHILE, name=client.name))
        else:
            made = Account(client.name, hashed, id=world.new_account_id())
            account = world.registry.put(key, made)
            world.identify_account(conn, client, key, account.id)
            world.registry.known_from(key, client.address)
            out.add(SaveAccount(key, account))
            out.reply(conn, Done(Outcome.REGISTERED, name=client.name))
            _tell_rooms(world, conn, client, out)
    elif (current := accounts.get(client.account)) is not None:  # PendingRehash
        changed = world.registry.put(client.account, attrs.evolve(current, hash=hashed))
        out.add(SaveAccount(client.account, changed))
        out.reply(conn, Done(Outcome.PASSWORD_CHANGED))


def register(world: World, conn: ConnId, client: Client, intent: i.Register, out: Outputs) -> None:
    if not world.stored:
        out.reply(conn, Refused(Problem.NO_ACCOUNTS))
    elif client.account == name_key(client.name):
        out.reply(conn, Refused(Problem.ALREADY_REGISTERED, name=client.name))
    elif name_key(client.name) in world.rules.admins:
        # Whoever registered it would be an admin at once (and after every restart): an
        # admin's account is made by the operator, `chat-trio user add NAME`.
        out.reply(conn, Refused(Problem.ADMIN_NAME, name=client.name))
    elif problem := check_password(intent.password):
        out.reply(conn, problem)
    else:
        client.pending = PendingRegister()
        client.step(Step.WAIT)
        out.add(HashPassword(conn, intent.password))


def change_password(
    world: World, conn: ConnId, client: Client, intent: i.ChangePassword, out: Outputs
) -> None:
    if not client.account:
        out.reply(conn, Refused(Problem.NOT_LOGGED_IN))
    elif problem := check_password(intent.new) or _throttled(world, client.account, client):
        out.reply(conn, problem)
    else:
        client.pending = PendingPasswordChange(intent.new)
        client.step(Step.WAIT)
        _check(world, conn, client, client.account, intent.old, out)


def unregister(
    world: World, conn: ConnId, client: Client, intent: i.Unregister, out: Outputs
) -> None:
    if not client.account:
        out.reply(conn, Refused(Problem.NOT_LOGGED_IN))
    elif problem := _throttled(world, client.account, client):
        out.reply(conn, problem)
    else:
        client.pending = PendingUnregister()
        client.step(Step.WAIT)
        _check(world, conn, client, client.account, intent.password, out)
