"""The task tree (chat_trio/tasks.py): drawn from hand-made trees without trio; read from a
real server; served on the operator's port to loopback, or to an admin's password; asked
for by ``chat-trio tasks``."""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import attrs
import pytest
import trio
import trio.testing

from chat_trio import inspection, tasks, users
from chat_trio.chat.intents import Secret
from chat_trio.chat.limits import Admission
from chat_trio.delivery.effects import Effects
from chat_trio.tasks import Nursery, Task, Tree
from docs import live
from tests.conftest import LineClient, serving, start_doors
from tests.test_inspection import CHEAP, config, port_of
from tests.test_inspection import fetch as metrics_fetch

X = tasks.TIMES  # the sign before a count of alike siblings

# -- drawing, without trio ------------------------------------------------------------------


def connection(*writing: str) -> Task:
    """An ``_admit`` task as the server has one per client: its session's nursery holds a
    writer task only while bytes wait."""
    return Task("server._admit", (Nursery("nursery", tuple(Task(w) for w in writing)),))


def test_tasks_render_collapses_alike_siblings_and_counts_them() -> None:
    clients = Nursery("clients", (Task("delivery.hub.Hub.run"), *[connection()] * 1532))
    tree = Tree(Task("server.serve", (clients,)), tasks=1534)
    assert tasks.render(tree) == (
        "server.serve\n"
        "└── [clients]\n"
        "    ├── delivery.hub.Hub.run\n"
        f"    └── server._admit {X}1,532\n"
        "        └── [nursery]\n"
        "\n"
        "(1,534 tasks)\n"
    )


def test_tasks_render_keeps_a_sibling_whose_subtree_differs_apart() -> None:
    """The same name, another shape: the one connection whose writer runs (its client
    reads slowly) stands out from the idle ones."""
    clients = Nursery("clients", (connection(), connection("_write"), connection()))
    lines = tasks.render(Tree(Task("serve", (clients,)), tasks=6)).splitlines()
    assert lines[:6] == [
        "serve",
        "└── [clients]",
        f"    ├── server._admit {X}2",
        "    │   └── [nursery]",
        "    └── server._admit",
        "        └── [nursery]",
    ]
    assert lines[6] == "            └── _write"


def test_tasks_render_draws_a_tasks_later_nurseries_inside_its_first() -> None:
    """One task's nurseries are nested (it opened each inside the one before): the inner
    one is drawn as the last thing in the outer one, as server.py's code reads."""
    storage = Nursery("storage", (Task("store.run"),))
    clients = Nursery("clients", (Task("hub.run"),))
    listening = Nursery("listening", (Task("tcp.serve"),))
    tree = Tree(Task("serve", (storage, clients, listening)), tasks=4)
    assert tasks.render(tree).splitlines()[:8] == [
        "serve",
        "└── [storage]",
        "    ├── store.run",
        "    └── [clients]",
        "        ├── hub.run",
        "        └── [listening]",
        "            └── tcp.serve",
        "",
    ]


def test_tasks_render_says_what_the_walk_left_out() -> None:
    tree = Tree(Task("serve"), tasks=1, cut_deep=3, cut_many=12_000, max_depth=2, max_tasks=9)
    assert tasks.render(tree).splitlines()[-1] == (
        "(1 tasks; not shown: 3 more 2 levels down; not shown: 12,000 more past the first 9, "
        "and the tasks under them)"
    )
    assert tasks.render(Tree(Task("serve"), tasks=1)).splitlines()[-1] == "(1 tasks)"


def test_tasks_shorten_drops_only_our_packages_prefix() -> None:
    assert tasks.shorten("chat_trio.server._admit") == "server._admit"
    assert tasks.shorten("<TrioToken.run_sync_soon task>") == "<TrioToken.run_sync_soon task>"
    assert tasks.shorten("trio._core._run.x") == "trio._core._run.x"


# -- reading trio's tree ---------------------------------------------------------------------


async def test_tasks_walk_names_nurseries_as_the_code_calls_them_and_is_bounded() -> None:
    done = trio.Event()

    async def leaf() -> None:
        await done.wait()

    async def branch() -> None:
        async with trio.open_nursery() as leaves:
            for _ in range(3):
                leaves.start_soon(leaf)

    async def trunk(*, task_status: trio.TaskStatus[trio.lowlevel.Task]) -> None:
        async with trio.open_nursery() as branches:
            branches.start_soon(branch)
            branches.start_soon(branch)
            task_status.started(trio.lowlevel.current_task())

    async with trio.open_nursery() as nursery:
        top = await nursery.start(trunk)
        await trio.testing.wait_all_tasks_blocked()
        whole, shallow = tasks.walk(top), tasks.walk(top, max_depth=1)
        few = tasks.walk(top, max_tasks=4)
        done.set()
    assert whole.tasks == 9 and (whole.cut_deep, whole.cut_many) == (0, 0)
    drawn = tasks.render(whole).replace(f"{__name__}.{trunk.__qualname__[:-5]}", "")
    assert drawn.splitlines()[:6] == [
        "trunk",
        "└── [branches]",
        f"    └── branch {X}2",
        "        └── [leaves]",
        f"            └── leaf {X}3",
        "",
    ]
    assert (shallow.tasks, shallow.cut_deep) == (3, 6)  # the leaves
    assert (few.tasks, few.cut_many) == (4, 2)  # a leaf, and the second branch
    assert tasks.render(few).endswith("2 more past the first 4, and the tasks under them)\n")


async def test_tasks_walk_orders_no_more_tasks_than_it_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A nursery past the bound is counted, not sorted: ordering 50,000 connections to
    show none of them would be most of the walk's cost."""
    done = trio.Event()
    ordered: list[int] = []
    real = tasks._started_order

    def counted(
        children: frozenset[trio.lowlevel.Task], first: int = tasks.MAX_TASKS
    ) -> list[trio.lowlevel.Task]:
        ordered.append(len(shown := real(children, first)))
        return shown

    async def crowd(*, task_status: trio.TaskStatus[trio.lowlevel.Task]) -> None:
        async with trio.open_nursery() as many:
            for _ in range(50):
                many.start_soon(done.wait)
            task_status.started(trio.lowlevel.current_task())

    monkeypatch.setattr(tasks, "_started_order", counted)
    async with trio.open_nursery() as nursery:
        top = await nursery.start(crowd)
        await trio.testing.wait_all_tasks_blocked()
        few, shallow = tasks.walk(top, max_tasks=4), tasks.walk(top, max_depth=0)
        done.set()
    assert (few.tasks, few.cut_many) == (4, 47)
    assert (shallow.tasks, shallow.cut_deep) == (1, 50)
    assert max(ordered) <= 3, ordered  # the first three of the fifty, only


async def test_tasks_walk_of_a_real_server_shows_its_nurseries_and_no_user(
    tmp_path: Path,
) -> None:
    """The tree of a running server, clients on two doors: each connection is one
    ``_admit`` line with its count, and nothing a user typed or came from is in it."""
    async with serving(config(tmp_path / "chat.db")) as (listening, _):
        text, irc = port_of(listening, "text"), port_of(listening, "IRC")
        clients = [LineClient(await trio.open_tcp_stream("127.0.0.1", text)) for _ in range(2)]
        for number, client in enumerate(clients):
            await client.register(f"Zelda{number}")
        ircer = LineClient(await trio.open_tcp_stream("127.0.0.1", irc))
        await ircer.send("NICK Ganon7\r\nUSER g 0 * :Ganon the Seventh")
        await ircer.expect(" 001 Ganon7 ")
        await trio.testing.wait_all_tasks_blocked()
        drawn = tasks.render(tasks.walk())
        for client in (*clients, ircer):
            await client.stream.aclose()
    for line in ("[storage]", "[clients]", "[listening]", "delivery.hub.Hub.run",
                 f"server._admit {X}3", f"transports.tcp.serve {X}3"):  # fmt: skip
        assert line in drawn, drawn
    assert "Zelda" not in drawn and "Ganon" not in drawn
    assert str(text) not in drawn and "127.0.0.1" not in drawn


# -- who may read it -------------------------------------------------------------------------


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def test_tasks_access_is_loopbacks_or_needs_a_password() -> None:
    for local in ("127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"):
        assert inspection.tasks_access(local, "") is None
    for remote in ("203.0.113.9", "::ffff:203.0.113.9", "2001:db8::1", None, "not-an-ip"):
        assert inspection.tasks_access(remote, "") == inspection.TASKS_REFUSED
    login = inspection.tasks_access("203.0.113.9", basic("boss", "pa:ss word"))
    assert login == inspection.Login("boss", Secret("pa:ss word"))
    assert "pa:ss" not in repr(login)


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
               "Basic " + base64.b64encode(b":pw").decode(), "Basic " + base64.b64encode(b"\xff:x").decode()],
)  # fmt: skip
def test_tasks_access_treats_unreadable_credentials_as_none(header: str) -> None:
    assert inspection.login(header) is None
    assert inspection.tasks_access("203.0.113.9", header) == inspection.TASKS_REFUSED


FORGED = (
    "x\nINFO chat_trio.audit password-check conn=7 address=203.0.113.9 account=admin verdict=wrong"
)
"""A name that, logged as it is, writes a second line fail2ban's filter matches."""


@pytest.mark.parametrize("name", [FORGED, "boss\r", "bo\x1bss", "bo ss", "a" * 33, "NickServ"])
def test_tasks_access_refuses_a_name_no_account_can_have(name: str) -> None:
    assert inspection.login(basic(name, "pw")) == inspection.NAME_REFUSED
    assert inspection.tasks_access("203.0.113.9", basic(name, "pw")) == inspection.NAME_REFUSED


def test_tasks_access_takes_names_of_every_script_as_accounts_have_them() -> None:
    assert inspection.login(basic("Zo\u00eb", "pw")) == inspection.Login("Zo\u00eb", Secret("pw"))
    decomposed = inspection.login(basic("Zoe\u0308", "pw"))  # the same name, as NFD writes it
    assert decomposed == inspection.Login("Zo\u00eb", Secret("pw"))


def fetch(port: int, authorization: str = "") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/tasks")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_tasks_served_to_loopback(tmp_path: Path) -> None:
    async with serving(config(tmp_path / "chat.db")) as (listening, _):
        status, body = await trio.to_thread.run_sync(fetch, port_of(listening, "metrics"))
    assert status == 200
    assert "└── [listening]" in body and "inspection.Inspection.serve" in body


async def test_tasks_walked_at_most_once_a_second(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests 0.1 s apart walk the tree once (the second gets the same drawing);
    one ``TASKS_EVERY`` after the walk walks again."""
    walks: list[float] = []
    real = tasks.walk

    def counted() -> Tree:
        walks.append(trio.current_time())
        return real()

    monkeypatch.setattr(tasks, "walk", counted)
    # loopback: neither the chat nor the admission are asked (a password would be)
    port = inspection.Inspection(cast(Effects, None), Admission(), None, (), write_timeout=1.0)
    first = await port.task_tree("127.0.0.1", "")
    await trio.sleep(0.1)
    again = await port.task_tree("127.0.0.1", "")
    assert first[0] == 200 and again == first
    assert walks == [0.0]
    await trio.sleep(inspection.TASKS_EVERY - 0.1)
    assert (await port.task_tree("127.0.0.1", ""))[0] == 200
    assert walks == [0.0, inspection.TASKS_EVERY]


async def test_tasks_from_elsewhere_needs_an_admins_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real requests, with 127.0.0.1 taken for another machine's address (who is remote is
    ``is_loopback``'s to say, tested above): refused without a password, with a wrong one,
    and with a right one that is not an admin's, in the same words as a wrong one (the
    port does not confirm a chat account's password); shown with an admin's."""
    db = tmp_path / "chat.db"
    for name, action in (("boss", "add"), ("boss", "promote"), ("pleb", "add")):
        out = io.StringIO()
        assert users.run(action, name, str(db), CHEAP, io.StringIO("hunter22\n"), out) == 0
    monkeypatch.setattr(inspection, "is_loopback", lambda host: False)
    async with serving(config(db)) as (listening, _):
        port = port_of(listening, "metrics")

        async def ask(authorization: str = "") -> tuple[int, str]:
            return await trio.to_thread.run_sync(fetch, port, authorization)

        assert await ask() == (403, f"403 {inspection.TASKS_REFUSED}\n")
        assert await ask(basic("boss", "wrong-one")) == (403, "403 Wrong name or password.\n")
        assert await ask(basic("pleb", "hunter22")) == (403, "403 Wrong name or password.\n")
        status, body = await ask(basic("boss", "hunter22"))
        assert status == 200 and "[clients]" in body


async def test_tasks_wrong_passwords_wait_and_are_logged_like_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Guessing an admin's password on the port costs what it costs in the chat: after
    three wrong ones from an address, that address waits (even with the right one), and
    each check is the line fail2ban reads."""
    db = tmp_path / "chat.db"
    for action in ("add", "promote"):
        assert (
            users.run(action, "boss", str(db), CHEAP, io.StringIO("hunter22\n"), io.StringIO()) == 0
        )
    monkeypatch.setattr(inspection, "is_loopback", lambda host: False)
    caplog.set_level("INFO", logger="chat_trio.audit")
    async with serving(config(db)) as (listening, _):
        port = port_of(listening, "metrics")
        for _ in range(3):
            wrong = await trio.to_thread.run_sync(fetch, port, basic("boss", "guess-one"))
            assert wrong == (403, "403 Wrong name or password.\n")
        right = await trio.to_thread.run_sync(fetch, port, basic("boss", "hunter22"))
    assert right[0] == 429  # how long it says depends on the time the three took
    assert re.fullmatch(r"429 Too many wrong passwords: try again in [1-5] s\.\n", right[1])
    checks = [r.getMessage() for r in caplog.records if "password-check" in r.getMessage()]
    assert checks == ["password-check conn=0 address=127.0.0.1 account=boss verdict=wrong"] * 3


async def test_tasks_a_name_with_a_line_break_is_refused_before_any_check_or_log_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A name is checked before its password is: one that would forge a log line for
    fail2ban is refused in one line, logged in one line without it, and no password is
    checked (nothing is throttled, nothing counted)."""
    db = tmp_path / "chat.db"
    assert users.run("add", "boss", str(db), CHEAP, io.StringIO("hunter22\n"), io.StringIO()) == 0
    monkeypatch.setattr(inspection, "is_loopback", lambda host: False)
    caplog.set_level("INFO")
    async with serving(config(db)) as (listening, _):
        port = port_of(listening, "metrics")
        refused = await trio.to_thread.run_sync(fetch, port, basic(FORGED, "pw"))
        checks = await trio.to_thread.run_sync(metrics_fetch, port, "/metrics")
    assert refused == (403, f"403 {inspection.NAME_REFUSED}\n")
    said = [r.getMessage() for r in caplog.records if r.name.startswith("chat_trio.")]
    assert not any("password-check" in line or "admin" in line for line in said), said
    assert [line for line in said if "tasks-refused" in line] == [
        "tasks-refused peer=127.0.0.1 why=bad-name"
    ]
    assert all("\n" not in line for line in said)
    assert 'chat_trio_password_checks_total{result="wrong"} 0' in checks[2]


async def test_tasks_without_accounts_only_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspection, "is_loopback", lambda host: False)
    async with serving(attrs.evolve(config(tmp_path / "chat.db"), db=None)) as (listening, _):
        port = port_of(listening, "metrics")
        status, body = await trio.to_thread.run_sync(fetch, port, basic("boss", "hunter22"))
    assert (status, body) == (
        403, "403 This server keeps no accounts (--no-db): only this machine may see it.\n",
    )  # fmt: skip


# -- chat-trio tasks -------------------------------------------------------------------------


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_trio", "tasks", *args],
        input=stdin, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_tasks_cli_prints_a_running_servers_tree() -> None:
    process, ports = start_doors("--metrics-port", "0")
    try:
        shown = cli("--metrics-port", str(ports["metrics"]))
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("<init>\n")
    assert "└── server.run\n" in shown.stdout
    assert "server.run.<locals>.watch_signals" in shown.stdout
    assert f"transports.tcp.serve {X}3" in shown.stdout  # text, web, and this port


def test_tasks_cli_says_in_one_line_why_it_shows_nothing() -> None:
    nothing = cli()
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert nothing.stderr == (
        "chat-trio: which port? The server's operator port: chat-trio tasks --metrics-port PORT\n"
    )
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    refused = cli("--metrics-port", str(port))
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert f"cannot ask 127.0.0.1:{port} for its tasks:" in refused.stderr
    assert "Connection refused" in refused.stderr


def test_tasks_cli_reads_the_admins_password_from_standard_input() -> None:
    """``--admin`` needs a password line; from loopback the server shows the tree anyway
    (a password is for asking from elsewhere)."""
    process, ports = start_doors("--metrics-port", "0", "--no-db")
    try:
        empty = cli("--metrics-port", str(ports["metrics"]), "--admin", "boss")
        shown = cli("--metrics-port", str(ports["metrics"]), "--admin", "boss", stdin="pw\n")
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert empty.returncode == 1
    assert empty.stderr.startswith("chat-trio: no password on standard input")
    assert shown.returncode == 0  # from loopback the password is not needed, nor checked


@contextlib.contextmanager
def answering(status: int, body: str = "", location: str = "") -> Iterator[tuple[int, list[str]]]:
    """A plain HTTP server on loopback, in a thread, that answers every request with
    ``status`` and ``body`` (and ``location``); yields its port and what it was asked
    (the path and the ``Authorization`` header of each request)."""
    asked: list[str] = []

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(f"{self.path} {self.headers.get('Authorization', '')}")
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass  # (not on the test's stderr)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_tasks_cli_asks_the_server_itself_never_a_proxy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``http_proxy`` in the environment is not used: the password would cross to the
    proxy in clear (here a dead one, which urllib would have tried and failed on)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = unused.getsockname()[1]
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{dead}")
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    out = io.StringIO()
    with answering(200, "serve\n") as (port, asked):
        status = tasks.ask("127.0.0.1", port, "boss", io.StringIO("hunter22\n"), out)
    assert (status, out.getvalue(), capsys.readouterr().err) == (0, "serve\n", "")
    assert asked == [f"/tasks {basic('boss', 'hunter22')}"]


def test_tasks_cli_follows_no_redirect_and_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 302 is not followed (urllib would follow it keeping the password's header, to
    any host): one line, exit status 1, and the place it named is never asked."""
    out = io.StringIO()
    with (
        answering(200, "stolen\n") as (elsewhere, taken),
        answering(302, location=f"http://127.0.0.1:{elsewhere}/x") as (port, asked),
    ):
        status = tasks.ask("127.0.0.1", port, "boss", io.StringIO("hunter22\n"), out)
    said = capsys.readouterr().err
    assert taken == []  # (urllib would ask it, with the password: "/x Basic Ym9zczpodW50ZXIyMg==")
    assert status == 1 and out.getvalue() == "" and len(asked) == 1
    assert said == (
        f"chat-trio: 127.0.0.1:{port} answered 302 (elsewhere), not its tasks: "
        f"is {port} the server's --metrics-port?\n"
    )


# -- the architecture chapter's tree ---------------------------------------------------------


def test_tasks_docs_tree_is_what_a_running_server_shows() -> None:
    """docs/architecture.md's generated tree is the tree of a server started now the way
    ``python -m docs.live`` starts it (two clients on each door): the picture cannot drift
    from the code (run ``python -m docs.live`` after changing the tree)."""
    shown = live.tree()
    assert f"server._admit {X}6" in shown  # every client on every door, counted
    assert "Alice" not in shown and "Erin" not in shown  # names are the code's, never a user's
    assert live.block("architecture.md", "tasks") == shown
