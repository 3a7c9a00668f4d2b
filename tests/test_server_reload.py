"""Reloading a running server (SIGHUP), and telling systemd how it goes (sd_notify): over
real sockets on 127.0.0.1, a real Unix datagram socket standing in for systemd's, and the
CLI as systemd runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import attrs
import pytest
import trio

from chat_trio.chat.world import Rules
from chat_trio.config import Config, with_setting
from chat_trio.server import Listening, Reloads, serve
from chat_trio.transports.notify import Notifier
from tests.conftest import LineClient, tls_config


class FakeSystemd:
    """The service manager's end of ``$NOTIFY_SOCKET``: a Unix datagram socket."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.socket = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    async def bind(self) -> None:
        await self.socket.bind(self.path)

    def close(self) -> None:
        self.socket.close()

    async def told(self) -> list[str]:
        """The next message's lines."""
        with trio.fail_after(10):
            return (await self.socket.recv(4096)).decode().split("\n")


@asynccontextmanager
async def reloadable(
    config: Config, settings: list[Config], systemd: FakeSystemd
) -> AsyncIterator[tuple[list[Listening], trio.MemorySendChannel[None]]]:
    """``serve`` with reloads that read ``settings[0]`` (change it, then ask)."""
    stop = trio.Event()
    asks, requests = trio.open_memory_channel[None](1)
    notifier = Notifier(systemd.path)
    reloads = Reloads(requests, lambda: settings[0], notifier)
    try:
        async with trio.open_nursery() as nursery:
            yield await nursery.start(partial(serve, config, stop, reloads=reloads)), asks
            stop.set()
    finally:
        notifier.close()
        systemd.close()


async def test_server_reload_applies_motd_names_admins_and_certificate_and_drops_nobody(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = Config(host="127.0.0.1", port=0, irc_port=0, web_port=None, db=None)
    base = with_setting(base, "irc.motd", ("Old news",))
    before, old_trust = tls_config(base, tmp_path / "a", tls_port=0, irc_tls_port=0)
    after, new_trust = tls_config(base, tmp_path / "b", tls_port=0, irc_tls_port=0)
    after = attrs.evolve(
        after,
        rules=Rules(reserved_names=frozenset({"opal", "zed"})),
        port=4,  # not applied: the log says a restart is needed
        irc=attrs.evolve(after.irc, motd=("Fresh news",)),
    )
    settings = [before]
    systemd = FakeSystemd(tmp_path / "notify")
    await systemd.bind()
    with trio.fail_after(20):
        async with reloadable(before, settings, systemd) as (addresses, asks):
            ports = {label: port for _, port, label in addresses}
            text = LineClient(await trio.open_tcp_stream("127.0.0.1", ports["text"]))
            await text.register("Opal")  # allowed when she came
            secure = await trio.open_ssl_over_tcp_stream(
                "127.0.0.1", ports["text, TLS"], ssl_context=old_trust
            )
            old_tls = LineClient(secure)
            await old_tls.register("Tess")
            settings[0] = after
            asks.send_nowait(None)
            assert (await systemd.told())[0] == "RELOADING=1"
            assert (await systemd.told())[0] == "READY=1"
            # Nobody was dropped: Opal (now a reserved name) and the TLS user still chat.
            await text.send("still here")
            await old_tls.expect("Opal: still here\r\n")
            # Newcomers get what was reloaded.
            irc = LineClient(await trio.open_tcp_stream("127.0.0.1", ports["IRC"]))
            await irc.send("NICK Ivy\r\nUSER i 0 * :i")
            await irc.expect(":- Fresh news\r\n")
            late = LineClient(await trio.open_tcp_stream("127.0.0.1", ports["text"]))
            await late.expect("Enter your username: ")
            await late.send("Zed")
            await late.expect('The name "Zed" is reserved.')
            renewed = await trio.open_ssl_over_tcp_stream(
                "127.0.0.1", ports["text, TLS"], ssl_context=new_trust
            )
            await LineClient(renewed).expect("Enter your username: ")  # the new certificate
            stale = await trio.open_ssl_over_tcp_stream(
                "127.0.0.1", ports["text, TLS"], ssl_context=old_trust
            )
            with pytest.raises(trio.BrokenResourceError):  # and not the old one
                await stale.do_handshake()
            await trio.aclose_forcefully(stale)
            for client in (text, old_tls, irc, late, LineClient(renewed)):
                await client.stream.aclose()


async def test_server_reload_with_a_broken_file_changes_nothing(tmp_path: Path) -> None:
    config = Config(host="127.0.0.1", port=0, web_port=None, db=None)
    systemd = FakeSystemd(tmp_path / "notify")
    await systemd.bind()
    broken = attrs.evolve(config, tls_cert="/no/such.pem", tls_key="/no/such.key")
    settings = [broken]
    with trio.fail_after(10):
        async with reloadable(config, settings, systemd) as (addresses, asks):
            asks.send_nowait(None)
            assert (await systemd.told())[0] == "RELOADING=1"
            assert (await systemd.told())[0] == "READY=1"  # and still serving, as before
            client = LineClient(await trio.open_tcp_stream("127.0.0.1", addresses[0][1]))
            await client.register("Alice")
            await client.stream.aclose()


@pytest.mark.skipif(sys.platform != "linux", reason="sd_notify and SIGHUP as on Linux")
def test_server_cli_tells_systemd_ready_reloading_stopping_and_sighup_no_longer_stops_it(
    tmp_path: Path,
) -> None:
    """Issue 17: SIGHUP stopped the server (the default action); under systemd
    (``Type=notify``) the server now says when it is ready, reloading and stopping."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(10)
    motd = tmp_path / "motd.txt"
    motd.write_text("Old news\n")
    config = tmp_path / "chat-trio.toml"
    config.write_text(f'motd = "{motd}"\nreserved-names = ["root"]\n')
    environ = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"))
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_trio", "serve", "--port", "0", "--no-web", "--no-db",
         "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    )  # fmt: skip
    try:
        assert listener.recv(4096).decode().startswith("READY=1\nSTATUS=listening on ")
        config.write_text(f'motd = "{motd}"\nreserved-names = ["root", "opal"]\n')
        process.send_signal(signal.SIGHUP)
        assert listener.recv(4096).decode().startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert listener.recv(4096).decode() == "READY=1\nSTATUS=serving"
        assert process.poll() is None  # SIGHUP no longer ends it
        process.send_signal(signal.SIGTERM)
        assert listener.recv(4096).decode() == "STOPPING=1\nSTATUS=shutting down"
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        listener.close()
    assert process.returncode == 0
    assert "reloaded motd_lines=1 reserved_names=2 admins=0 tls=none" in err
