"""What joins this node to its peers through Redis: the subscription that brings other
nodes' events here (``subscriber``, over the sans-I/O RESP reader in ``resp``), and the
per-channel sequence numbers that reveal what was lost or repeated on the way
(``sequence``).

Commands, scripts and pipelines stay with coredis (``storage/redis.py``); this package
owns only the long-lived pub/sub connection, which coredis handles badly (docs/storage.md
§10 measured why). Nothing here starts a long-lived task of its own: ``server.py`` starts
``Subscriber.run`` in its nursery."""
