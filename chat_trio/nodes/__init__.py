"""Several nodes, one chat: what joins this node to its peers through Redis.

``peers`` is the node among its peers (what it tells them, what it hears from them);
``codec`` the envelope of events nodes send each other, to bytes and back; ``subscriber``
the subscription that brings other nodes' messages here (over the sans-I/O RESP reader
in ``resp``); ``sequence`` the per-channel numbers that reveal what was lost or repeated
on the way.
"""
