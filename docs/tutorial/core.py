"""Chapter 5: the chat's rules as a class with no I/O. Bytes in, outputs out.

This module owns the rules: names, who hears a line, when a connection ends. It never
imports trio and never awaits, so a test can drive it with plain function calls, and a
cancellation can never stop it halfway through a change.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 1024  # bytes without a newline; a client that sends more is told, then cut


@dataclass(frozen=True)
class Send:
    """Bytes for one connection."""

    to: int  # the connection's number, given by the transport
    data: bytes


@dataclass(frozen=True)
class Close:
    """End one connection, once what was sent to it before has been written."""

    to: int


Output = Send | Close


class Chat:
    """A tiny chat. The first line is a name; each line after it goes to everyone else;
    ``/quit`` leaves. Connections are numbers: the transport chooses them."""

    def __init__(self) -> None:
        self.buffers: dict[int, bytes] = {}  # bytes after the last newline, per connection
        self.names: dict[int, str] = {}  # only the connections that have chosen a name

    def connect(self, who: int) -> list[Output]:
        self.buffers[who] = b""
        return [Send(who, b"Enter your username: ")]

    def receive(self, who: int, data: bytes) -> list[Output]:
        """Bytes from one connection, cut anywhere; ``b""`` means that it has closed."""
        if who not in self.buffers:  # already gone: bytes after /quit, or a second EOF
            return []
        if not data:
            return self.leave(who)
        outputs: list[Output] = []
        self.buffers[who] += data
        while who in self.buffers and b"\n" in self.buffers[who]:
            line, _, self.buffers[who] = self.buffers[who].partition(b"\n")
            outputs += self.line(who, line.decode(errors="replace").strip())
        if who in self.buffers and len(self.buffers[who]) > MAX_LINE:
            outputs += self.let_go(who, "Line too long.")
        return outputs

    def line(self, who: int, text: str) -> list[Output]:
        name = self.names.get(who)
        if name is None:
            return self.login(who, text)
        if text == "/quit":
            return self.let_go(who, "Bye!")
        return self.say(who, f"{name}: {text}")

    def say(self, who: int, line: str) -> list[Output]:
        """A line someone said, for everyone else."""
        return self.everyone_but(who, line)

    def login(self, who: int, name: str) -> list[Output]:
        if not name or name in self.names.values():
            return [Send(who, b"That name is empty or taken. Enter your username: ")]
        self.names[who] = name
        welcome = Send(who, f"Welcome, {name}!\r\n".encode())
        return [welcome, *self.everyone_but(who, f"* {name} joined")]

    def leave(self, who: int) -> list[Output]:
        del self.buffers[who]
        name = self.names.pop(who, None)
        return [] if name is None else self.everyone_but(who, f"* {name} left")

    def let_go(self, who: int, reason: str) -> list[Output]:
        """End one connection: it is told why, then closed, and the others hear that it left.

        From here on the rules send it nothing more, even before the transport has closed it.
        """
        if who not in self.buffers:  # already gone
            return []
        return [Send(who, f"{reason}\r\n".encode()), Close(who), *self.leave(who)]

    def announce(self, text: str) -> list[Output]:
        """A line from the server to everyone who has a name."""
        return self.everyone_but(0, text)  # 0: no connection has that number

    def everyone_but(self, who: int, text: str) -> list[Output]:
        data = f"{text}\r\n".encode()
        return [Send(other, data) for other in self.names if other != who]
