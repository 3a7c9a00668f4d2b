"""Chapter 5, exercise: a ``/who`` command that lists who is here.

Run: ``python -m docs.tutorial.core_solution [PORT]`` (port 8005 unless you give one).
Only the rules change: the transport of chapter 5 serves them as they are.
"""

from __future__ import annotations

from docs.tutorial.core import Chat, Output, Send
from docs.tutorial.core_server import Server
from docs.tutorial.run import serve


class ChatWithWho(Chat):
    def line(self, who: int, text: str) -> list[Output]:
        if text == "/who" and who in self.names:
            here = ", ".join(sorted(self.names.values()))
            return [Send(who, f"Here: {here}\r\n".encode())]
        return super().line(who, text)


if __name__ == "__main__":
    serve(Server(ChatWithWho()).handle, 8005)
