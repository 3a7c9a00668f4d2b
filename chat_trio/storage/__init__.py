"""Storage: history (and later accounts) in SQLite, kept off the event loop.

``database`` is plain blocking sqlite3 (no trio); ``store`` runs it in worker threads.
"""
