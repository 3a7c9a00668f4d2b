"""Behind real reverse proxies started on loopback: haproxy with ``send-proxy-v2`` in front
of the text and IRC doors and ``option forwardfor`` in front of the web door, and nginx
in front of the web door. The server is the real CLI with ``--trusted-proxy 127.0.0.1``;
clients come from other loopback addresses (127.0.0.2, 127.0.0.3, ...), so what the
server sees is the client's own address only if the proxy's word was taken.

These need haproxy and nginx (``.ci/run`` installs them); where they are missing the
tests are skipped, except under CI, where that is a failure.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import RejectConnection, RejectData, Request, TextMessage

from tests.conftest import needs, start_doors
from tests.test_server_accounts import CHEAP, user
from tests.test_server_history import _read_until

pytestmark = needs(["haproxy", "nginx"])

BANNED = "127.0.0.2"  #: the address the admin bans
ALICE, CAROL, BOSS, DAVE = "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connect(port: int, source: str) -> socket.socket:
    """A TCP connection to the proxy on ``port``, from the loopback address ``source``."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def wait_listening(port: int) -> None:
    for _ in range(200):  # bounded: 10 s
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


HAPROXY = """
global
    maxconn 200
defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 60s
frontend text
    mode tcp
    bind 127.0.0.1:{text}
    default_backend text
backend text
    mode tcp
    server chat 127.0.0.1:{chat_text} send-proxy-v2
frontend irc
    mode tcp
    bind 127.0.0.1:{irc}
    default_backend irc
backend irc
    mode tcp
    server chat 127.0.0.1:{chat_irc} send-proxy-v2
frontend web
    mode http
    bind 127.0.0.1:{web}
    option forwardfor
    default_backend web
backend web
    mode http
    server chat 127.0.0.1:{chat_web}
"""

NGINX = """
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{web};
        location / {{
            proxy_pass http://127.0.0.1:{chat_web};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


class Proxied:
    """The server and the proxies in front of it: their ports, and the server's log."""

    def __init__(self, server: subprocess.Popen[str], ports: dict[str, int]) -> None:
        self.server = server
        self.ports = ports  #: the proxies' ports: "text", "irc", "web" (haproxy), "nginx"

    def stop(self) -> str:
        """Stop the server; return what it logged."""
        self.server.send_signal(signal.SIGTERM)
        _, err = self.server.communicate(timeout=20)
        return err


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Proxied]:
    """The server and the proxies, with an admin account (Boss)."""
    db = str(tmp_path / "chat.db")
    assert user(db, "add", "Boss", password="boss-password").returncode == 0
    yield from behind_proxies(tmp_path, "--db", db, "--admins", "Boss", *CHEAP)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Proxied]:
    """The server and the proxies, with one connection per address, loopback included."""
    yield from behind_proxies(tmp_path, "--limit-loopback", "--max-per-address", "1")


def behind_proxies(tmp_path: Path, *args: str) -> Iterator[Proxied]:
    server, chat = start_doors(*args, "--irc-port", "0", "--trusted-proxy", "127.0.0.1")
    ports = {"text": free_port(), "irc": free_port(), "web": free_port(), "nginx": free_port()}
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        HAPROXY.format(chat_text=chat["text"], chat_irc=chat["IRC"], chat_web=chat["web"], **ports)
    )
    folder = tmp_path / "nginx"
    folder.mkdir()
    (folder / "nginx.conf").write_text(
        NGINX.format(folder=folder, web=ports["nginx"], chat_web=chat["web"])
    )
    proxies = [
        subprocess.Popen(["haproxy", "-db", "-f", str(config)], stderr=subprocess.DEVNULL),
        subprocess.Popen(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)]),
    ]
    try:
        for port in ports.values():
            wait_listening(port)
        yield Proxied(server, ports)
    finally:
        for process in proxies:
            process.terminate()
            process.wait(timeout=10)
        if server.poll() is None:
            server.kill()
            server.communicate()


def text_client(port: int, source: str) -> tuple[socket.socket, bytes]:
    """A text-door client from ``source``; it and the server's first words to it."""
    client = connect(port, source)
    seen = b""
    for _ in range(100):  # bounded; each recv waits at most the socket's timeout
        if seen.endswith((b": ", b"\n")):
            break
        seen += client.recv(65536)
    return client, seen


def open_websocket(port: int, source: str, *headers: tuple[bytes, bytes]) -> tuple[str, str]:
    """Open the chat's WebSocket from ``source`` through the proxy on ``port``; return the
    HTTP status and, when accepted, the first text the door says."""
    with connect(port, source) as sock:
        ws = WSConnection(ConnectionType.CLIENT)
        sock.sendall(ws.send(Request("127.0.0.1", "/ws", extra_headers=list(headers))))
        status, body = "", b""
        for _ in range(100):  # bounded; each recv waits at most the socket's timeout
            data = sock.recv(65536)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, RejectConnection):
                    status = str(event.status_code)
                if isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished:
                        return status, body.decode()
                if isinstance(event, TextMessage):
                    return "101", json.dumps(json.loads(event.data))
            if not data:
                break
    raise AssertionError("no answer to the upgrade")


def test_proxy_real_a_ban_on_the_real_address_refuses_it_through_every_proxy(
    proxied: Proxied,
) -> None:
    ports = proxied.ports
    with connect(ports["text"], BOSS) as boss:
        boss.sendall(b"Boss boss-password\n")
        _read_until(boss, b"Type /help")
        boss.sendall(f"/ban {BANNED} 1h\n".encode())
        assert f"* Banned {BANNED} until".encode() in _read_until(boss, b"UTC")

        banned, said = text_client(ports["text"], BANNED)
        banned.close()
        assert b"Your address is banned from this server until " in said
        with connect(ports["irc"], BANNED) as irc:
            irc.sendall(b"NICK mallory\r\nUSER m 0 * :M\r\n")
            assert b" 465 " in _read_until(irc, b"banned")
        for web in ("web", "nginx"):
            status, said_there = open_websocket(ports[web], BANNED)
            assert status == "101" and '"problem": "address-banned"' in said_there, said_there

        # the proxy's own address is not banned, nor anyone else coming through it
        alice, said = text_client(ports["text"], ALICE)
        alice.close()
        assert said.endswith(b"Enter your username: ")
    log = proxied.stop()
    assert "proxied peer=127.0.0.2:" in log and " proxy=127.0.0.1:" in log


def test_proxy_real_per_address_limits_count_the_real_address(limited: Proxied) -> None:
    ports = limited.ports
    alice, said = text_client(ports["text"], ALICE)  # --max-per-address 1: Alice's one
    with alice:
        assert said.endswith(b"Enter your username: ")
        again, said = text_client(ports["text"], ALICE)
        again.close()
        assert said.startswith(b"Too many connections from your address (at most 1)")
        with connect(ports["irc"], ALICE) as irc:
            assert b"Too many connections from your address" in _read_until(irc, b"\n")
        for web in ("web", "nginx"):
            status, body = open_websocket(ports[web], ALICE)
            assert status == "503" and "Too many connections from your address" in body
        carol, said = text_client(ports["text"], CAROL)  # same proxy, another client
        carol.close()
        assert said.endswith(b"Enter your username: ")
        status, _ = open_websocket(ports["nginx"], DAVE)
        assert status == "101"


def test_proxy_real_the_log_names_the_real_client_and_a_forged_header_changes_nothing(
    proxied: Proxied,
) -> None:
    ports = proxied.ports
    with connect(ports["text"], ALICE) as alice:
        _read_until(alice, b": ")
        alice.sendall(b"Alice\n")
        _read_until(alice, b"Type /help")
        port = alice.getsockname()[1]
    # a client that writes its own X-Forwarded-For: nginx appends what it saw, and the
    # right-most address that is not a trusted proxy is taken, never the forged one
    forged = (b"X-Forwarded-For", b"198.51.100.66")
    status, _ = open_websocket(ports["nginx"], CAROL, forged)
    assert status == "101"
    log = proxied.stop()
    assert re.search(
        rf"connect conn=\d+ peer={ALICE}:{port} door=text tls=no\n", log
    )  # its own port too
    assert f"proxied peer={CAROL} proxy=127.0.0.1:" in log
    assert "198.51.100.66" not in log
