"""Flood control: a token bucket per user; faster intents wait, and too many waiting cut.

Rules:

1. A user may send ``Rules.flood_burst`` intents at once, then ``Rules.flood_rate`` per
   second (``flood_rate`` 0: no flood control). Every intent a user types counts, commands
   too; what a door asks on the user's behalf does not (``spend(free=True)``).
2. An intent without a token is not refused and not reordered: it waits, and so does all
   input after it, in the door (``Chat.handle`` returns False); ``deadline`` says when the
   next token comes.
3. The user is told once per episode that lines are delayed; more than
   ``Rules.flood_queue`` waiting disconnects it (``Reason.FLOOD``), like ergo's fakelag.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import math

from chat_trio.chat.events import ConnId, Reason, Refused
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.problems import Problem
from chat_trio.chat.world import Client, Rules, World


def spend(rules: Rules, client: Client, now: float) -> bool:
    """May an intent run now? Takes a token if so."""
    if not rules.flood_rate:
        return True
    client.tokens = min(rules.flood_burst, client.tokens + (now - client.stamp) * rules.flood_rate)
    client.stamp = now
    if client.tokens >= 1:
        client.tokens -= 1
        client.held = False
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
        out.reply(conn, Refused(Problem.SLOW_DOWN, limit=rules.flood_burst, rate=rules.flood_rate))
