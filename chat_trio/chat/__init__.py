"""The chat rules, sans-I/O: intents in, events and outputs out. No trio, no await.

Nothing here knows bytes, framing, slash syntax, IRC numerics or English sentences:
doors (``chat_trio.doors``) turn those into ``intents`` and render the ``events``. The
rules are split by concern: ``names``, ``rooms``, ``messages``, ``accounts``,
``moderation``, ``flood``, over the shared ``world``; ``core`` is the I/O layer's entry
and dispatches each intent; ``state`` names a connection's phases and their transitions.
Imports point one way: ``core`` -> concerns -> ``world`` -> vocabulary (``intents``,
``events``, ``outputs``, ``problems``, ``state``, ``registry``).
"""
