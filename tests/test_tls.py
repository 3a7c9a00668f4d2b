"""TLS: a trusted client chats with plain ones; a failed handshake hurts nobody else."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import trio
import trustme

from chat_trio.config import Config
from chat_trio.entrances import StartupError
from chat_trio.server import serve
from tests.conftest import LineClient, serving, start_cli


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def cert_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = folder / "chain.pem", folder / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    return Config(
        host="127.0.0.1",
        port=0,
        web_port=None,
        db=None,
        tls_cert=str(chain),
        tls_key=str(key),
        tls_port=0,
    )


async def tls_client(port: int, context: ssl.SSLContext) -> LineClient:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    secure = trio.SSLStream(stream, context, server_hostname="127.0.0.1")
    try:
        await secure.do_handshake()
    except trio.BrokenResourceError:
        await trio.aclose_forcefully(stream)
        raise
    return LineClient(secure)


async def test_tls_client_chats_with_a_plain_client(ca: trustme.CA, cert_files: Config) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with trio.fail_after(10):
        async with serving(cert_files) as (addresses, _):
            plain_port, tls_port = (a.port for a in addresses)
            alice = await tls_client(tls_port, context)
            bob = LineClient(await trio.open_tcp_stream("127.0.0.1", plain_port))
            await alice.register("Alice")
            await bob.register("Bob")
            await alice.expect("* Bob joined the chat\r\n")
            await bob.send("plain hello")
            await alice.expect("Bob: plain hello\r\n")
            await alice.send("secure hello")
            await bob.expect("Alice: secure hello\r\n")
            await alice.send("/quit")
            assert (await alice.read_to_eof()).endswith("Goodbye!\r\n")
            await bob.expect("* Alice left the chat\r\n")
            await bob.stream.aclose()
            await alice.stream.aclose()


async def test_tls_untrusted_client_fails_alone(cert_files: Config) -> None:
    untrusting = ssl.create_default_context()  # does not know our test CA
    with trio.fail_after(10):
        async with serving(cert_files) as (addresses, _):
            plain_port, tls_port = (a.port for a in addresses)
            bob = LineClient(await trio.open_tcp_stream("127.0.0.1", plain_port))
            await bob.register("Bob")
            with pytest.raises(trio.BrokenResourceError):
                await tls_client(tls_port, untrusting)
            await bob.send("/users")
            await bob.expect("Users online: 1 (Bob)\r\n")
            await bob.stream.aclose()


async def test_tls_only_has_no_plain_listener(ca: trustme.CA, cert_files: Config) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with trio.fail_after(10):
        async with serving(attrs.evolve(cert_files, plain=False)) as (addresses, _):
            assert len(addresses) == 1
            alice = await tls_client(addresses[0][1], context)
            await alice.register("Alice")
            await alice.stream.aclose()


async def test_tls_unreadable_certificate_is_a_clear_startup_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    config = Config(
        host="127.0.0.1",
        port=0,
        web_port=None,
        db=None,
        tls_cert=missing,
        tls_key=missing,
        tls_port=0,
    )
    with pytest.raises(StartupError, match=rf"cannot use TLS certificate {missing}"):
        await serve(config, trio.Event())


def test_tls_cli_needs_cert_and_key_together() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chat_trio", "serve", "--tls-cert", "x.pem"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: chat-trio serve ")  # serve's usage, not the top's
    assert result.stderr.endswith("error: --tls-cert and --tls-key go together\n")


async def test_tls_swapped_files_say_which_is_which(cert_files: Config) -> None:
    assert cert_files.tls_cert is not None and cert_files.tls_key is not None
    swapped = attrs.evolve(cert_files, tls_cert=cert_files.tls_key, tls_key=cert_files.tls_cert)
    with pytest.raises(StartupError) as raised:
        await serve(swapped, trio.Event())
    # (The chain file holds the key too, so only the certificate's place is wrong.)
    assert str(raised.value).endswith(
        f"--tls-cert {cert_files.tls_key} is a private key, not a PEM certificate"
    )
    assert "PEM lib" not in str(raised.value)


def test_tls_openssl_s_client_can_chat(ca: trustme.CA, cert_files: Config, tmp_path: Path) -> None:
    """The real openssl client, as the README suggests for TLS."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    assert cert_files.tls_cert is not None and cert_files.tls_key is not None
    server, port = start_cli(
        "--tls-only", "--tls-port", "0", "--tls-cert", cert_files.tls_cert,
        "--tls-key", cert_files.tls_key,
    )  # fmt: skip
    try:
        client = subprocess.run(
            ["openssl", "s_client", "-quiet", "-CAfile", str(ca_file),
             "-connect", f"127.0.0.1:{port}", "-verify_return_error"],
            input="Olga\n/users\n/quit\n", capture_output=True, text=True, timeout=20, check=False,
        )  # fmt: skip
        assert "Welcome to the chat, Olga!" in client.stdout
        assert "Users online: 1 (Olga)" in client.stdout
        assert client.stdout.endswith("Goodbye!\n")  # text mode turned \r\n into \n
    finally:
        server.terminate()
        server.communicate(timeout=20)
