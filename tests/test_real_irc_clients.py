"""IRC clients as people use them, against the real CLI: irssi in tmux, WeeChat
(weechat-headless, driven through its FIFO, read through its logs) and HexChat (its GTK
window on Xvfb, driven and read by a Python plugin of the test's), talking with nc users.

These need irssi, weechat-headless, tmux, and hexchat with hexchat-python3 and Xvfb
(``.ci/run`` installs them). Where they are missing the tests are skipped, except under
CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeAlias

import pytest

from tests.conftest import needs, start_doors
from tests.test_real_clients import read_until

TOOLS = ["irssi", "weechat-headless", "tmux"]
Look: TypeAlias = Callable[[], str]  #: what a client shows now
Type: TypeAlias = Callable[[str], None]  #: type a line into a client
pytestmark = needs(TOOLS)


@pytest.fixture
def server() -> Iterator[dict[str, int]]:
    process, ports = start_doors("--irc-port", "0", "--server-name", "irc.test")
    yield ports
    process.terminate()
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def wait_for(what: str, look: Callable[[], str], seconds: float = 15) -> str:
    """Poll another program's screen or log until ``what`` shows (bounded by ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        seen = look()
        if what in seen:
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what!r} not shown:\n{seen}")
        time.sleep(0.1)  # another process's output: there is nothing to await


def nc_user(port: int, name: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    read_until(sock, b"Enter your username: ")
    sock.sendall(name.encode() + b"\r\n")
    read_until(sock, f"Welcome to the chat, {name}!".encode())
    return sock


TMUX_SOCKET = f"chat-trio-irc-test-{os.getpid()}"
"""A tmux server of this test run's own: runs of the suite at the same time on one machine
(several worktrees) once shared one, and one run's ``kill-server`` or session of the same
name broke another's irssi."""


def tmux(*args: str, check: bool = True, socket: str = TMUX_SOCKET) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=check
    ).stdout


def irssi(session: str, home: Path, port: int, nick: str) -> tuple[Look, Type]:
    """irssi as ``nick`` in a tmux ``session`` of its own; its screen, and a way to type."""
    home.mkdir()
    # The username and real name USER gives (else the login name of whoever runs the tests)
    settings = f'core = {{ user_name = "{nick}"; real_name = "{nick}"; }};'
    (home / "config").write_text(f"settings = {{ {settings} }};\n")
    command = f"irssi --home={home} -c 127.0.0.1 -p {port} -n {nick}"
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", command)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", session)

    def type_(line: str) -> None:
        tmux("send-keys", "-t", session, "-l", line)
        tmux("send-keys", "-t", session, "Enter")

    return screen, type_


def weechat(home: Path, port: int, nick: str) -> subprocess.Popen[bytes]:
    """weechat-headless as ``nick``, logging every buffer at once to ``home/logs`` and
    reading commands from its FIFO (``home/weechat_fifo_*``)."""
    setup = "; ".join(
        [
            "/set logger.file.flush_delay 0",
            "/set fifo.file.enabled on",
            f"/server add test 127.0.0.1/{port} -notls",
            f"/set irc.server.test.nicks {nick}",
            f"/set irc.server.test.username {nick}",  # (else the login name)
            "/connect test",
        ]
    )
    return subprocess.Popen(
        ["weechat-headless", "--dir", str(home), "-r", setup],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def weechat_log(home: Path, buffer: str) -> Look:
    """What WeeChat shows in ``buffer`` (``server.test``, ``test.#rust``), as it logs it."""
    log = home / "logs" / f"irc.{buffer}.weechatlog"
    return lambda: log.read_text() if log.exists() else ""


def talk_with(
    alice: socket.socket, type_: Callable[[str], None], nick: str, new_nick: str, client: str
) -> None:
    """What every real client's user does with Alice (on nc), typed as the user types it
    into the client, and what Alice sees of it; at the end both are in #rust."""
    type_(f"hi Alice, from {client}")
    read_until(alice, f"{nick}: hi Alice, from {client}\r\n".encode(), 15)
    type_("/me waves")
    read_until(alice, f"* {nick} waves\r\n".encode(), 15)
    type_("/msg Alice a secret")
    read_until(alice, f"[PM from {nick}] a secret\r\n".encode(), 15)
    type_(f"/nick {new_nick}")
    read_until(alice, f"* {nick} is now known as {new_nick}\r\n".encode(), 15)
    alice.sendall(b"/join #rust\r\n")
    type_("/join #rust")
    read_until(alice, f"* {new_nick} joined #rust\r\n".encode(), 15)


def test_real_irssi_chats_with_an_nc_user(server: dict[str, int], tmp_path: Path) -> None:
    alice = nc_user(server["text"], "Alice")
    screen, type_ = irssi("irssi", tmp_path / "irssi", server["IRC"], "Bob")
    try:
        with alice:
            read_until(alice, b"* Bob joined the chat\r\n", 15)
            type_("/window 2")
            wait_for("#lobby", screen)
            alice.sendall(b"hello Bob\r\n")
            wait_for("< Alice> hello Bob", screen)
            talk_with(alice, type_, "Bob", "Bobby", "irssi")
            alice.sendall(b"/op Bobby\r\n")  # Alice created #rust: she runs it
            wait_for("mode/#rust [+o Bobby] by Alice", screen)
            type_("/topic all about Rust")  # topic-locked: Bobby is an operator now
            read_until(alice, b"* Bobby set the topic of #rust: all about Rust\r\n", 15)
            type_("/kick Alice enough rust")  # irssi sends KICK #rust Alice :enough rust
            read_until(alice, b"* You were kicked out of #rust by Bobby: enough rust.", 15)
            wait_for("Alice was kicked from #rust by Bobby [enough rust]", screen)
            type_("/quit see you")
            read_until(alice, b"* Bobby left the chat (see you)\r\n", 15)  # its words
    finally:
        tmux("kill-server", check=False)  # gone already if irssi quit


def test_real_weechat_chats_with_an_nc_user(server: dict[str, int], tmp_path: Path) -> None:
    home = tmp_path / "weechat"
    carol = weechat(home, server["IRC"], "Carol")
    lobby = weechat_log(home, "test.#lobby")
    try:
        wait_for("Carol (Carol@chat-trio) has joined #lobby", lobby)
        with nc_user(server["text"], "Alice") as alice:
            # WeeChat asks for extended-join: "Alice (Alice) (Alice@chat-trio) has joined"
            wait_for("(Alice@chat-trio) has joined #lobby", lobby)
            alice.sendall(b"hello Carol\r\n")
            wait_for("Alice\thello Carol", lobby)
            fifo = next(home.glob("weechat_fifo_*"))
            fifo.write_text("irc.server.test */msg #lobby hi Alice, from WeeChat\n")
            read_until(alice, b"Carol: hi Alice, from WeeChat\r\n", 15)
            fifo.write_text("irc.server.test */quit\n")
            read_until(alice, b"* Carol left the chat", 15)  # (WeeChat's own quit message)
    finally:
        carol.terminate()
        carol.wait(timeout=20)


def test_real_irssi_and_weechat_run_rooms_invite_only_invitations_and_kicks(
    server: dict[str, int], tmp_path: Path
) -> None:
    """Each client runs a room of its own and is kept out of the other's: ``/mode +i``,
    the refused join (473, in each client's words), ``/invite``, the join it lets
    through, and ``/kick``, as each client shows them."""
    alice = nc_user(server["text"], "Alice")  # to know when both clients are in
    wee = tmp_path / "weechat"
    carol = weechat(wee, server["IRC"], "Carol")
    screen, type_ = irssi("irssi-ops", tmp_path / "irssi", server["IRC"], "Bob")
    shown, rust, crabs = (weechat_log(wee, b) for b in ("server.test", "test.#rust", "test.#crabs"))
    try:
        with alice:
            seen = b""
            while b"* Bob joined the chat" not in seen or b"* Carol joined the chat" not in seen:
                seen += read_until(alice, b" joined the chat\r\n", 15)
            fifo = next(wee.glob("weechat_fifo_*"))

            def carol_types(line: str, buffer: str = "irc.server.test") -> None:
                with fifo.open("a") as commands:
                    commands.write(f"{buffer} *{line}\n")

            # Bob (irssi) creates #rust, makes it invite only, and lets Carol in.
            type_("/join #rust")
            wait_for("Bob [Bob@chat-trio] has joined #rust", screen)
            wait_for("Channel #rust created ", screen)  # 329, after the 324 irssi asks for
            type_("/mode #rust +i")
            wait_for("mode/#rust [+i] by Bob", screen)
            carol_types("/join #rust")
            wait_for("#rust: Cannot join channel (+i)", shown)  # 473
            type_("/invite Carol #rust")
            wait_for("You have been invited to #rust by Bob", shown)
            carol_types("/join #rust")
            wait_for("Carol (Carol@chat-trio) has joined #rust", rust)
            wait_for("Carol [Carol@chat-trio] has joined #rust", screen)
            type_("/kick Carol bye now")
            wait_for("Bob has kicked Carol (bye now)", rust)
            wait_for("Carol was kicked from #rust by Bob [bye now]", screen)

            # Carol (WeeChat) creates #crabs, makes it invite only, and lets Bob in.
            carol_types("/join #crabs")
            wait_for("Carol (Carol@chat-trio) has joined #crabs", crabs)
            wait_for("Channel created on ", crabs)  # 329, as WeeChat words it
            carol_types("/mode #crabs +i")
            wait_for("Mode #crabs [+i] by Carol", crabs)
            type_("/window 1")  # irssi's status window: refusals and invitations
            type_("/join #crabs")
            wait_for("Cannot join to channel #crabs (You must be invited)", screen)  # 473
            carol_types("/invite Bob #crabs")
            wait_for("Carol invites you to #crabs", screen)
            type_("/join #crabs")
            wait_for("Bob [Bob@chat-trio] has joined #crabs", screen)
            wait_for("Bob (Bob) (Bob@chat-trio) has joined #crabs", crabs)
            carol_types("/kick Bob out you go", "irc.test.#crabs")
            wait_for("Bob was kicked from #crabs by Carol [out you go]", screen)
            wait_for("Carol has kicked Bob (out you go)", crabs)
    finally:
        tmux("kill-session", "-t", "irssi-ops", check=False)
        carol.terminate()
        carol.wait(timeout=20)


HEXCHAT_CONFIG = """\
gui_slist_skip = 1
gui_join_dialog = 0
gui_tray = 0
irc_nick1 = Dana
irc_nick2 = Dana_
irc_user_name = dana
irc_real_name = Dana
"""
"""HexChat's settings: no network list at start, no join dialog, the nick Dana."""

HEXCHAT_PLUGIN = """\
import os
import hexchat

__module_name__ = "chat-trio-test"
__module_version__ = "1"
__module_description__ = "Does what the test writes in commands; notes what HexChat shows"

HERE = os.environ["CHAT_TRIO_TEST_DIR"]
shown = open(os.path.join(HERE, "shown.log"), "a", buffering=1)
done = 0

def note(word, word_eol, event):
    shown.write(event + ": " + " | ".join(word) + "\\n")
    return hexchat.EAT_NONE

for event in ("Channel Message", "Channel Msg Hilight", "Channel Action", "Join",
              "Private Message to Dialog", "Change Nick", "Topic Change", "Part"):
    hexchat.hook_print(event, note, event)

def run(userdata):
    global done
    try:
        with open(os.path.join(HERE, "commands")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return True
    for line in lines[done:]:  # as typed in the tab in front: "/cmd ..." or text to say
        command = line[1:] if line.startswith("/") else "say " + line
        hexchat.find_context().command(command)
    done = len(lines)
    return True

hexchat.hook_timer(100, run)
shown.write("loaded\\n")
"""
"""Loaded by HexChat from its addons folder: takes each line the test appends to
``commands`` as typed into the tab in front, and writes what HexChat shows (its print
events, as a user sees them) to ``shown.log``."""


def _x_display() -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display; return it and the display's name."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-ac", "-nolisten", "tcp", "-screen", "0",
         "1024x768x24"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as announced:
        number = announced.readline().strip()
    assert number, "Xvfb did not start"
    return xvfb, f":{number}"


@needs(["hexchat", "Xvfb", "setpriv"])
def test_real_hexchat_chats_with_an_nc_user(server: dict[str, int]) -> None:
    # HexChat refuses to run as root ("Running IRC as root is stupid!", a modal dialog):
    # as root, the test runs it as nobody, in a folder nobody can use.
    home = Path(tempfile.mkdtemp(prefix="chat-trio-hexchat-"))
    (home / "addons").mkdir()
    (home / "hexchat.conf").write_text(HEXCHAT_CONFIG)
    (home / "addons" / "chat_trio_test.py").write_text(HEXCHAT_PLUGIN)
    commands, log = home / "commands", home / "shown.log"
    for path in (home, home / "addons"):
        path.chmod(0o777)
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    xvfb, display = _x_display()
    hexchat = subprocess.Popen(
        [*(as_user if os.geteuid() == 0 else []), "hexchat", "-d", str(home),
         f"--url=irc://127.0.0.1:{server['IRC']}/"],
        env={**os.environ, "DISPLAY": display, "HOME": str(home), "CHAT_TRIO_TEST_DIR": str(home)},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def shown() -> str:
        return log.read_text() if log.exists() else ""

    def type_(line: str) -> None:
        with commands.open("a") as f:
            f.write(line + "\n")

    try:
        with nc_user(server["text"], "Alice") as alice:
            wait_for("loaded", shown)  # else: is hexchat-python3 installed?
            read_until(alice, b"* Dana joined the chat\r\n", 20)
            alice.sendall(b"hello from nc\r\n")
            wait_for("Channel Message: Alice | hello from nc", shown)
            talk_with(alice, type_, "Dana", "Danielle", "HexChat")
            alice.sendall(b"/msg Danielle a secret back\r\n")
            wait_for("Private Message to Dialog: Alice | a secret back", shown)
            alice.sendall(b"/topic Rust and Trio\r\n")
            wait_for("Topic Change: Alice | Rust and Trio | #rust", shown)
            type_("/quit see you")
            read_until(alice, b"* Danielle left the chat", 15)
    finally:
        hexchat.terminate()
        hexchat.wait(timeout=20)
        xvfb.terminate()
        xvfb.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)


def test_real_irssi_kickbans_an_nc_user_by_the_mask_it_makes(
    server: dict[str, int], tmp_path: Path
) -> None:
    """irssi's /kickban asks for the person's host, makes its own ban mask of it and sends
    MODE +b then KICK: the room's ban, matched against the mask the rules make for every
    door, keeps the nc user out; irssi's /unban lifts it."""
    alice = nc_user(server["text"], "Alice")
    home = tmp_path / "irssi"
    home.mkdir()
    command = f"irssi --home={home} -c 127.0.0.1 -p {server['IRC']} -n Bob"
    own = f"chat-trio-irc-bans-{os.getpid()}"  # a tmux server of its own: no other run's
    tmux("new-session", "-d", "-s", "irssi", "-x", "160", "-y", "40", command, socket=own)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "irssi", socket=own)

    def type_(line: str) -> None:
        tmux("send-keys", "-t", "irssi", "-l", line, socket=own)
        tmux("send-keys", "-t", "irssi", "Enter", socket=own)

    try:
        with alice:
            read_until(alice, b"* Bob joined the chat\r\n", 15)
            type_("/join #rust")  # Bob creates #rust: he runs it
            wait_for("Total of 1 nicks", screen)
            alice.sendall(b"/join #rust\r\n")
            read_until(alice, b"* You joined #rust", 15)
            wait_for("Alice [Alice@chat-trio] has joined #rust", screen)
            type_("/kickban Alice spam")
            banned = read_until(alice, b" from #rust.\r\n", 15)
            assert banned.endswith(b"* Bob banned *!*Alice@chat-trio from #rust.\r\n")
            read_until(alice, b"* You were kicked out of #rust by Bob: spam.", 15)
            alice.sendall(b"/join #rust\r\n")
            read_until(alice, b"You are banned from #rust.\r\n", 15)
            type_("/unban *")  # irssi lifts the bans it saw set that match
            wait_for("mode/#rust [-b ", screen)
            alice.sendall(b"/join #rust\r\n")
            read_until(alice, b"* You joined #rust", 15)
            type_("/quit")
    finally:
        tmux("kill-server", check=False, socket=own)  # gone already if irssi quit


def test_real_irssi_shows_a_rename_once_in_each_window_however_many_rooms_are_shared(
    server: dict[str, int], tmp_path: Path
) -> None:
    """Alice (nc) shares three channels with Bob (irssi: #lobby, #a, #b) and renames: the
    server sends one NICK (issue 19: one per shared channel made irssi print it again),
    and irssi's log of each channel, and of the whole session, holds the rename once."""
    home = tmp_path / "irssi"
    alice = nc_user(server["text"], "Alice")
    screen, type_ = irssi("irssi-rename", home, server["IRC"], "Bob")
    logs = home / "logs"
    type_(f"/set autolog_path {logs}/$0.log")  # every window's lines, as irssi prints them
    type_("/set autolog on")
    try:
        with alice:
            read_until(alice, b"* Bob joined the chat\r\n", 15)
            for room in ("#a", "#b"):
                type_(f"/join {room}")
                wait_for(f"Bob [Bob@chat-trio] has joined {room}", screen)  # (its window shows)
                alice.sendall(f"/join {room}\r\n".encode())
                read_until(alice, f"You joined {room}".encode(), 15)
                wait_for(f"Alice [Alice@chat-trio] has joined {room}", screen)
            alice.sendall(b"/nick Alicia\r\n")
            read_until(alice, b"* Alice is now known as Alicia\r\n", 15)
            alice.sendall(b"/me is back\r\n")  # after the rename: once this shows, all did
            wait_for("Alicia is back", screen)
            renamed = "Alice is now known as Alicia"
            for room in ("#lobby", "#a", "#b"):
                log = (logs / f"{room}.log").read_text()
                assert log.count(renamed) == 1, log
            type_("/window 1")  # the status window: irssi shows no rename there at all
            shown = wait_for("[(status)]", screen)
            assert renamed not in shown
    finally:
        tmux("kill-server", check=False)


def test_real_weechat_notify_follows_an_nc_user_through_monitor(
    server: dict[str, int], tmp_path: Path
) -> None:
    """WeeChat's ``/notify`` uses MONITOR when the server offers it (ISUPPORT MONITOR;
    else it asks ISON once a minute): Alice (nc) coming, renaming away and coming back is
    shown at once, in WeeChat's words."""
    home = tmp_path / "weechat"
    carol = weechat(home, server["IRC"], "Carol")
    shown = weechat_log(home, "server.test")
    try:
        wait_for("Carol (Carol@chat-trio) has joined #lobby", weechat_log(home, "test.#lobby"))
        fifo = next(home.glob("weechat_fifo_*"))
        fifo.write_text("irc.server.test */notify add Alice test\n")
        wait_for("notify: Alice is offline", shown, 30)  # (WeeChat asks on its next tick)
        with nc_user(server["text"], "Alice") as alice:
            wait_for("notify: Alice (Alice@chat-trio) has connected", shown)
            alice.sendall(b"/nick Alicia\r\n")
            wait_for("notify: Alice has quit", shown)  # the name went: offline
            alice.sendall(b"/nick Alice\r\n")  # and back: online again

            def since_quit() -> str:
                return shown().split("notify: Alice has quit")[-1]

            wait_for("notify: Alice (Alice@chat-trio) has connected", since_quit)
    finally:
        carol.terminate()
        carol.wait(timeout=20)
