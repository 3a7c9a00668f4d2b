"""Storage: history, accounts and bans in SQLite, kept off the event loop.

``backend`` is what the interpreter asks of storage (one protocol); ``sqlite`` is the
server's backend over ``store`` (which runs ``database``, plain blocking sqlite3, in
worker threads) and ``passwords``.
"""
