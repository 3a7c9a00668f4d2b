"""The web door: a chat page served over HTTP, and the chat itself over a WebSocket.

``site.py`` is HTTP (h11): it serves the page's files with their security headers and
accepts a WebSocket upgrade on ``/ws`` from the page's own origin. ``door.py`` is the
WebSocket connection afterwards (wsproto reads the client's frames); ``dialect.py`` turns
JSON messages into intents and events into JSON; ``frames.py`` writes the server's frames,
which carry no mask, so one rendering serves every member of a room. ``static/`` is the
page: one HTML file, one script, one stylesheet and an icon, with nothing to build.

Like every door this package is sans-I/O: it never imports trio or awaits.
"""
