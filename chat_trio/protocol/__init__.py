"""The sans-I/O chat protocol: bytes in, decisions out, no trio and no await.

Everything in this package is plain synchronous Python, so a state change is
never interrupted half-way by a cancellation, and every transport (plain
lines today; IRC and WebSocket later) can reuse the same rules.
"""
