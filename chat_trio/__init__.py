"""chat-trio: a multi-client chat server on Trio, reached with nc or telnet.

The package is laid out as its architecture (arrows point downward only)::

    __main__   CLI: arguments -> Config -> trio.run(server.run)
    server     the task tree and the shutdown steps
    session    one connection: a reader task and a writer task
    transports thin adapters from sockets to streams (tcp today)
    hub        delivery: one bounded outbox per connection, batched fan-out
    protocol/  the sans-I/O rules: never imports trio, never awaits
"""

__version__ = "0.1.0"
