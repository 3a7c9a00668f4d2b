"""chat-trio: a multi-client chat server on Trio, reached with nc or telnet.

The package is laid out as its architecture (arrows point downward only)::

    __main__   CLI: arguments -> Config -> trio.run(server.run)
    server     the task tree and the shutdown steps
    delivery/  session (one connection's reader and writer), effects (carrying out the
               rules' outputs), hub (bounded outboxes, batched fan-out)
    transports thin adapters from sockets to streams (TCP, TLS)
    storage/   SQLite history and accounts, off the event loop
    doors/     sans-I/O dialects: bytes -> intents, events -> bytes (text: nc/telnet)
    chat/      the sans-I/O rules: intents in, events and outputs out; never imports
               trio, never awaits, never sees bytes or wording
"""

__version__ = "0.3.0"
