"""chat-trio: a multi-client chat server on Trio, reached with nc, telnet, IRC clients
and a web page.

The package is laid out as its architecture (arrows point downward only)::

    __main__   CLI: the option table (config.OPTIONS) -> Config -> trio.run(server.run)
    config     every setting once: Config, gathered from each layer's settings
    server     the task tree and the shutdown steps
    entrances  the ways in: a door on its listeners, plain or TLS
    delivery/  session (one connection's reader and writer), effects (carrying out the
               rules' outputs), hub, fanout, outbox (bounded), flow (who waits)
    transports thin adapters from sockets to streams (TCP, TLS, HTTP)
    storage/   what the interpreter asks of storage (backend), SQLite history and
               accounts off the event loop
    doors/     sans-I/O dialects: bytes -> intents, events -> bytes (text, IRC, web)
    chat/      the sans-I/O rules: intents in, events and outputs out; never imports
               trio, never awaits, never sees bytes or wording
"""

__version__ = "0.3.0"
