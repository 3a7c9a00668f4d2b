"""Flood control: a token bucket per user; faster intents wait, and too many waiting cut.

Rules:

1. A connection may send ``Rules.flood_burst`` lines at once, then ``Rules.flood_rate``
   per second (``flood_rate`` 0: no flood control), from its first line on, before it
   has a name too; the bucket is full again once it has one. Every line a user types
   counts, commands too, whoever answers it: the rules, or the door itself (``/help``,
   a refusal of a bad line, IRC's PONG: ``Chat.spend``); what a door asks on the
   user's behalf does not (``Free``), nor the door's own bookkeeping.
2. An intent without a token is not refused and not reordered: it waits, and so does all
   input after it, in the door (``Chat.handle`` returns False); ``deadline`` says when the
   next token comes.
3. The user is told once per episode that lines are delayed; more than
   ``Rules.flood_queue`` waiting disconnects it (``Reason.FLOOD``), like ergo's fakelag.
4. At shutdown (``Chat.lift_flood_control``) nothing waits any more: what was delayed is
   carried out before the shutdown notice, as users were promised.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import math

from chat_trio.chat.events import ConnId, Reason, Refused
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.problems import Problem
from chat_trio.chat.world import Client, Rules, World


def spend(world: World, client: Client, now: float) -> bool:
    """May a line run now? Takes a token if so (and counts the line: ``World.lines_in``)."""
    rules = world.rules
    if not rules.flood_rate or world.flood_lifted:
        world.lines_in += 1
        return True
    client.tokens = min(rules.flood_burst, client.tokens + (now - client.stamp) * rules.flood_rate)
    client.stamp = now
    if client.tokens >= 1:
        client.tokens -= 1
        client.held = False
        world.lines_in += 1
        return True
    client.held = True
    return False


def next_token(rules: Rules, client: Client) -> float:
    """When a waiting intent may run (``inf`` when none waits)."""
    if not client.held or not rules.flood_rate:
        return math.inf
    return client.stamp + (1 - client.tokens) / rules.flood_rate


def waiting(world: World, conn: ConnId, client: Client, count: int, out: Outputs) -> None:
    """``count`` intents wait for tokens: say so once; cut a client that keeps on."""
    rules = world.rules
    if count > rules.flood_queue:
        out.reply(conn, Refused(Problem.FLOODED, limit=rules.flood_queue, rate=rules.flood_rate))
        world.end(conn, client, out, Reason.FLOOD)
    elif not client.warned:
        client.warned = True
        world.flood_delays += 1
        out.reply(conn, Refused(Problem.SLOW_DOWN, limit=rules.flood_burst, rate=rules.flood_rate))
