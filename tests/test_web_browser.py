"""The page in a real browser: Debian's Chromium, headless, driven by Playwright's sync API,
against the server as a user runs it (``chat-trio serve`` in a subprocess), beside nc users
on a real socket.

Playwright cannot download its own browser here; ``executable_path`` points it at the
system's. Its async API does not run under trio, hence the sync API and the subprocess.
Every wait is Playwright's ``expect`` (bounded by ``TIMEOUT``) or a bounded socket read.
Set ``CHAT_TRIO_SCREENSHOTS`` to a directory to keep the screenshots (docs/ has them).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.conftest import needs, start_doors
from tests.test_real_clients import read_until

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 10_000  # ms, for every expect

pytestmark = needs([CHROMIUM])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Server:
    """``chat-trio serve`` with a database, its ports, and a way to restart it."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.db = db
        self.extra = extra
        self.process: subprocess.Popen[str] | None = None
        self.ports: dict[str, int] = {}
        self.start()

    def start(self, web_port: int = 0) -> None:
        self.process, self.ports = start_doors(
            "--db", str(self.db), "--web-port", str(web_port), "--flood-rate", "0",
            "--password-time", "1", "--password-memory", "64", *self.extra,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}/"

    def stop(self) -> str:
        assert self.process is not None
        self.process.terminate()
        _, err = self.process.communicate(timeout=20)
        assert self.process.returncode == 0, err
        return err

    def nc(self, name: str, source: str = "127.0.0.1") -> socket.socket:
        """An nc user who typed ``name`` at the prompt (a name, or a name and password),
        connected from ``source`` (another loopback address: another person's address)."""
        sock = socket.create_connection(
            ("127.0.0.1", self.ports["text"]), timeout=10, source_address=(source, 0)
        )
        read_until(sock, b"Enter your username: ")
        sock.sendall(name.encode() + b"\r\n")
        read_until(sock, b"Type /help for commands.\r\n")
        return sock


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "chat.db")
    yield running
    assert running.process is not None
    if running.process.poll() is None:
        err = running.stop()
        assert "Traceback" not in err, err


@pytest.fixture
def errors() -> list[str]:
    """JavaScript errors on any page a test opens (a test fails if there are any)."""
    return []


def open_page(
    browser: Browser, url: str, errors: list[str], script: str = "", **context: object
) -> Page:
    """A page in a context of its own; ``script`` runs before the page's own."""
    opened = browser.new_context(**context)  # type: ignore[arg-type]
    if script:
        opened.add_init_script(script)
    page = opened.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))
    page.goto(url)
    return page


def enter(page: Page, name: str, password: str = "", *, register: bool = False) -> None:
    page.get_by_label("Username", exact=True).fill(name)
    if password:
        page.get_by_label("Password", exact=True).fill(password)
    if register:
        page.get_by_label("Register this name, with this password").check()
    page.get_by_role("button", name="Enter the chat").click()


def join_from_the_form(page: Page, room: str) -> None:
    """Join (or create) ``room`` with the page's "Room to join" field and Enter."""
    page.get_by_label("Room to join").fill(room)
    page.get_by_label("Room to join").press("Enter")


def carol_runs_rust(browser: Browser, server: Server, errors: list[str]) -> Page:
    """Carol's page, in #rust, which she created: she runs it."""
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    join_from_the_form(carol, "rust")
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    return carol


def type_line(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def log(page: Page) -> Locator:
    return page.get_by_role("log")


def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    if keep := os.environ.get("CHAT_TRIO_SCREENSHOTS"):
        shutil.copy(path, Path(keep) / name)
    return path


def test_web_browser_two_browsers_and_an_nc_user_chat(
    browser: Browser, server: Server, errors: list[str], tmp_path: Path
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    dave = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    expect(carol.get_by_role("status")).to_have_text("Connected as Carol", timeout=TIMEOUT)
    enter(dave, "Dave")
    expect(dave.get_by_role("status")).to_have_text("Connected as Dave", timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Dave joined the chat", timeout=TIMEOUT)
    expect(carol.locator("#members li")).to_have_text(["Alice", "Carol", "Dave"], timeout=TIMEOUT)
    assert b"* Carol joined the chat\r\n" in read_until(alice, b"* Dave joined the chat\r\n")

    type_line(carol, "hello from the page")
    expect(log(dave)).to_contain_text("Carol hello from the page", timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Carol hello from the page", timeout=TIMEOUT)  # its echo
    read_until(alice, b"Carol: hello from the page\r\n")
    # The page keeps each message's id (not shown): the echo's is the one others got.
    echo_id = carol.locator("#log li.said").last.get_attribute("data-id")
    assert echo_id and dave.locator("#log li.said").last.get_attribute("data-id") == echo_id

    alice.sendall(b"hi browsers, see https://example.org/x\r\n")
    expect(log(carol)).to_contain_text("Alice hi browsers", timeout=TIMEOUT)
    link = dave.get_by_role("link", name="https://example.org/x")
    expect(link).to_have_attribute("href", "https://example.org/x", timeout=TIMEOUT)

    # Text from others is text: markup shows literally and runs nothing.
    type_line(dave, "<img src=x onerror=alert(1)> <b>bold?</b>")
    expect(log(carol)).to_contain_text("<img src=x onerror=alert(1)> <b>bold?</b>", timeout=TIMEOUT)
    assert carol.locator("#log img, #log b:not(.who)").count() == 0
    read_until(alice, b"Dave: <img src=x onerror=alert(1)> <b>bold?</b>\r\n")

    type_line(carol, "/me waves")
    expect(log(dave)).to_contain_text("* Carol waves", timeout=TIMEOUT)
    read_until(alice, b"* Carol waves\r\n")
    shoot(carol, tmp_path, "web-page.png")

    type_line(dave, "/quit")
    expect(dave.get_by_role("status")).to_have_text(re.compile("^Disconnected: "), timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Dave left the chat", timeout=TIMEOUT)
    read_until(alice, b"* Dave left the chat\r\n")
    alice.close()
    assert errors == []


def test_web_browser_rooms_unread_counts_and_members(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    join_from_the_form(carol, "rust")
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    members = carol.locator("#members li > :first-child")  # (then her buttons for others)
    expect(members).to_have_text(["@Carol"], timeout=TIMEOUT)  # she created it

    alice.sendall(b"/join #rust\r\n")
    expect(members).to_have_text(["Alice", "@Carol"], timeout=TIMEOUT)
    type_line(carol, "/topic crabs are fast")  # Carol created #rust: hers to set
    expect(carol.locator("#topic")).to_have_text("crabs are fast", timeout=TIMEOUT)

    carol.get_by_role("button", name="#lobby").click()
    expect(carol.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    alice.sendall(b"one\r\ntwo\r\n")
    unread = carol.get_by_role("button", name=re.compile(r"^#rust"))
    expect(unread.locator(".unread")).to_have_text("2", timeout=TIMEOUT)
    unread.click()
    expect(log(carol)).to_contain_text("Alice two", timeout=TIMEOUT)
    expect(unread.locator(".unread")).to_have_count(0, timeout=TIMEOUT)

    # A rename comes once (issue 18), through one shared room: both rooms follow it.
    alice.sendall(b"/nick Alicia\r\n")
    expect(members).to_have_text(["Alicia", "@Carol"], timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Alice is now known as Alicia", timeout=TIMEOUT)
    alice.sendall(b"/leave #rust see you\r\n")
    members = carol.locator("#members li > :first-child")  # (then her buttons for others)
    expect(members).to_have_text(["@Carol"], timeout=TIMEOUT)  # she created it
    expect(log(carol)).to_contain_text("Alicia left #rust (see you)", timeout=TIMEOUT)

    carol.get_by_role("button", name="Leave").click()
    expect(carol.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    expect(carol.get_by_role("button", name=re.compile(r"^#rust"))).to_have_count(0)
    expect(members).to_have_text(["Alicia", "Carol"], timeout=TIMEOUT)
    alice.sendall(b"/quit gone fishing\r\n")
    expect(members).to_have_text(["Carol"], timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Alicia left the chat (gone fishing)", timeout=TIMEOUT)
    alice.close()
    assert errors == []


def test_web_browser_an_operator_gives_voice_and_kicks_from_the_member_list(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = carol_runs_rust(browser, server, errors)
    bob = server.nc("Bob")
    bob.sendall(b"/join #rust\r\n")
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    join_from_the_form(dave, "rust")
    names = carol.locator("#members li > :first-child")
    expect(names).to_have_text(["Bob", "@Carol", "Dave"], timeout=TIMEOUT)
    assert names.nth(1).locator("abbr").get_attribute("title") == "operator"
    expect(dave.get_by_role("button", name="Kick Bob out of #rust")).to_have_count(0)

    give = carol.get_by_role("button", name="Give voice to Bob")
    give.focus()  # the member list's actions are buttons: the keyboard reaches them
    give.press("Enter")
    read_until(bob, b"* Carol gave Bob voice in #rust.\r\n")
    expect(names).to_have_text(["+Bob", "@Carol", "Dave"], timeout=TIMEOUT)
    expect(dave.locator("#members li > :first-child")).to_have_text(
        ["+Bob", "@Carol", "Dave"], timeout=TIMEOUT
    )

    carol.get_by_role("button", name="Kick Dave out of #rust").click()
    box = carol.get_by_label("Message", exact=True)
    expect(box).to_have_value("/kick Dave ")
    box.press("End")
    box.type("spamming")
    box.press("Enter")
    expect(log(dave)).to_contain_text(
        "You were kicked out of #rust by Carol: spamming.", timeout=TIMEOUT
    )
    expect(dave.get_by_role("status")).to_have_text("Connected as Dave")  # still here
    expect(dave.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    expect(dave.get_by_role("button", name=re.compile(r"^#rust"))).to_have_count(0)
    expect(names).to_have_text(["+Bob", "@Carol"], timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Dave was kicked out of #rust by Carol: spamming.")
    read_until(bob, b"* Dave was kicked out of #rust by Carol: spamming\r\n")
    type_line(dave, "still here")
    read_until(bob, b"[#lobby] Dave: still here\r\n")
    bob.close()
    assert errors == []


def test_web_browser_an_operator_bans_from_the_member_list_and_the_banned_stays_out(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = carol_runs_rust(browser, server, errors)
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    join_from_the_form(dave, "rust")
    names = carol.locator("#members li > :first-child")
    expect(names).to_have_text(["@Carol", "Dave"], timeout=TIMEOUT)
    expect(dave.get_by_role("button", name="Ban Carol from #rust")).to_have_count(0)

    ban = carol.get_by_role("button", name="Ban Dave from #rust")
    ban.focus()  # a button beside kick: the keyboard reaches it
    ban.press("Enter")
    box = carol.get_by_label("Message", exact=True)
    expect(box).to_have_value("/ban #rust Dave ")
    box.press("End")
    box.type("spamming")
    box.press("Enter")
    expect(log(carol)).to_contain_text("Carol banned Dave from #rust: spamming.", timeout=TIMEOUT)
    expect(log(dave)).to_contain_text(
        "You were kicked out of #rust by Carol: spamming.", timeout=TIMEOUT
    )
    expect(names).to_have_text(["@Carol"], timeout=TIMEOUT)
    join_from_the_form(dave, "rust")
    expect(log(dave)).to_contain_text("You are banned from #rust.", timeout=TIMEOUT)
    expect(dave.locator("#title")).to_have_text("#lobby")
    type_line(carol, "/bans")
    expect(log(carol)).to_contain_text("Bans of #rust (1):", timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Dave, by Carol at ")


def test_web_browser_an_operator_runs_the_room_from_its_menu_with_the_keyboard(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    join_from_the_form(carol, "rust")  # Carol creates #rust: she runs it
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    modes = carol.get_by_label("Room modes")
    expect(modes).to_be_hidden()  # no mode on yet
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    expect(dave.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    expect(dave.get_by_text("Room settings")).to_be_hidden()  # only operators run #lobby

    menu = carol.get_by_text("Room settings")
    menu.focus()
    menu.press("Enter")  # a <details>: the keyboard opens it
    invite_only = carol.get_by_label("Invite only")
    invite_only.focus()
    invite_only.press("Space")
    expect(modes).to_have_text("invite only", timeout=TIMEOUT)
    expect(invite_only).to_be_checked()
    join_from_the_form(dave, "#rust")
    expect(log(dave)).to_contain_text(
        "#rust is invite only (ask an operator for an invite).", timeout=TIMEOUT
    )
    carol.get_by_label("Key", exact=True).fill("sesame")
    carol.get_by_label("Key", exact=True).press("Enter")
    expect(modes).to_have_text("invite only · key", timeout=TIMEOUT)
    expect(carol.get_by_role("button", name="Remove key")).to_be_visible()
    carol.get_by_label("Member limit").fill("100001")  # the rules refuse it, in words
    carol.get_by_label("Member limit").press("Enter")
    expect(log(carol)).to_contain_text("A member limit is a number from 1 to 100000.")
    carol.get_by_label("Member limit").fill("2")
    carol.get_by_label("Member limit").press("Enter")
    carol.get_by_label("Moderated").press("Space")
    carol.get_by_label("Secret").press("Space")
    expect(modes).to_have_text("invite only · key · limit 2 · moderated · secret", timeout=TIMEOUT)

    carol.get_by_label("Invite", exact=True).fill("Dave")
    carol.get_by_label("Invite", exact=True).press("Enter")
    expect(log(carol)).to_contain_text("You invited Dave to #rust", timeout=TIMEOUT)
    expect(log(dave)).to_contain_text("Carol invited you to #rust", timeout=TIMEOUT)
    dave.get_by_role("button", name="Join #rust").press("Enter")
    expect(dave.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    dave_modes = dave.get_by_label("Room modes")
    expect(dave_modes).to_have_text(
        "invite only · key · limit 2 · moderated · secret", timeout=TIMEOUT
    )
    expect(dave.get_by_text("Room settings")).to_be_hidden()  # Dave does not run #rust
    invite_only.press("Space")  # off: everyone in the room sees it go
    expect(dave_modes).to_have_text("key · limit 2 · moderated · secret", timeout=TIMEOUT)

    # A key, then a full room: each refusal in words, the key typed beside it.
    erin = open_page(browser, server.url, errors)
    enter(erin, "Erin")
    join_from_the_form(erin, "#rust")
    expect(log(erin)).to_contain_text("#rust needs a key (/join #rust KEY).", timeout=TIMEOUT)
    erin.get_by_label("Key for #rust").fill("sesame")
    erin.get_by_label("Key for #rust").press("Enter")
    expect(log(erin)).to_contain_text("#rust is full (2 members).", timeout=TIMEOUT)
    carol.get_by_role("button", name="Remove limit").press("Enter")
    expect(dave_modes).to_have_text("key · moderated · secret", timeout=TIMEOUT)
    erin.get_by_role("button", name="Join #rust with this key").press("Enter")
    expect(erin.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    expect(erin.get_by_label("Room modes")).to_have_text("key · moderated · secret")
    carol.get_by_role("button", name="Remove key").press("Enter")
    expect(modes).to_have_text("moderated · secret", timeout=TIMEOUT)
    expect(carol.get_by_label("Key", exact=True)).to_have_value("")
    assert errors == []


def test_web_browser_kicked_into_the_lobby_its_member_list_is_fresh(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    bob = server.nc("Bob")
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    join_from_the_form(carol, "rust")
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    join_from_the_form(dave, "rust")
    expect(dave.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    dave.get_by_role("button", name=re.compile(r"^#lobby")).click()
    dave.get_by_role("button", name="Leave").click()  # #rust is Dave's only room now
    expect(dave.get_by_role("button", name=re.compile(r"^#lobby"))).to_have_count(0)
    bob.sendall(b"/nick Bobby\r\n")  # news of #lobby that Dave no longer hears
    read_until(bob, b"* Bob is now known as Bobby")
    carol.get_by_role("button", name="Kick Dave out of #rust").click()
    carol.get_by_label("Message", exact=True).press("Enter")
    expect(dave.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    expect(log(dave)).to_contain_text("You were kicked out of #rust by Carol", timeout=TIMEOUT)
    members = dave.locator("#members li > :first-child")
    expect(members).to_have_text(["Bobby", "Carol", "Dave"], timeout=TIMEOUT)
    bob.sendall(b"/join #crabs\r\n")  # and it stays fresh
    read_until(bob, b"You joined #crabs")
    bob.sendall(b"/leave #lobby\r\n")
    expect(members).to_have_text(["Carol", "Dave"], timeout=TIMEOUT)
    bob.close()
    assert errors == []


def test_web_browser_history_on_joining_and_load_earlier(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    alice.sendall(b"".join(f"line {n}\r\n".encode() for n in range(70)))
    alice.sendall(b"/users\r\n")
    read_until(alice, b"Users online: ")  # every line before it has been taken
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    expect(log(carol)).to_contain_text("line 69", timeout=TIMEOUT)
    assert "line 49" not in log(carol).inner_text()
    expect(carol.locator("#log li.history")).to_have_count(20, timeout=TIMEOUT)

    carol.get_by_role("button", name="Load earlier messages").click()
    expect(carol.locator("#log li.history")).to_have_count(70, timeout=TIMEOUT)
    expect(carol.locator("#log li.history").first).to_contain_text("line 0")
    # Earlier lines are asked for by the oldest line's id: none twice, none missing.
    ids = [li.get_attribute("data-id") for li in carol.locator("#log li.history").all()]
    assert all(ids) and len(set(ids)) == 70
    carol.get_by_role("button", name="Load earlier messages").click()
    expect(log(carol)).to_contain_text("No earlier messages.", timeout=TIMEOUT)
    expect(carol.get_by_role("button", name="Load earlier messages")).to_be_hidden()
    alice.close()
    assert errors == []


def test_web_browser_private_messages_are_their_own_conversation(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    dave = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    enter(dave, "Dave")
    expect(carol.locator("#members li")).to_have_text(["Alice", "Carol", "Dave"], timeout=TIMEOUT)
    type_line(carol, "/msg Dave psst, Dave")
    expect(carol.locator("#title")).to_have_text("Dave", timeout=TIMEOUT)
    pm = dave.get_by_role("button", name=re.compile("^@Carol"))
    expect(pm.locator(".unread")).to_have_text("1", timeout=TIMEOUT)
    pm.click()
    expect(log(dave)).to_contain_text("Carol psst, Dave", timeout=TIMEOUT)
    type_line(dave, "hi back")  # in a private conversation, a plain line is private
    expect(log(carol)).to_contain_text("Dave hi back", timeout=TIMEOUT)
    alice.sendall(b"/msg Carol from nc\r\n")
    expect(carol.get_by_role("button", name=re.compile("^@Alice"))).to_be_visible(timeout=TIMEOUT)
    read_until(alice, b"[PM to Carol] from nc\r\n")
    alice.close()
    assert errors == []


def test_web_browser_a_notice_reads_as_one_and_stays_one_in_history(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    expect(carol.locator("#members li")).to_have_text(["Alice", "Carol"], timeout=TIMEOUT)
    alice.sendall(b"/notice #lobby deploying at noon\r\n")
    notice = carol.locator("#log li.user-notice").last
    expect(notice).to_contain_text("-Alice- deploying at noon", timeout=TIMEOUT)
    type_line(carol, "/notice #lobby thanks")
    read_until(alice, b"-Carol- thanks\r\n")
    expect(carol.locator("#log li.user-notice").last).to_contain_text("-Carol- thanks")
    # A new page reads the room's history: the notices are still notices there.
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    replayed = dave.locator("#log li.user-notice.history")
    expect(replayed).to_have_count(2, timeout=TIMEOUT)
    expect(replayed.first).to_contain_text("-Alice- deploying at noon")
    alice.close()
    assert errors == []


def test_web_browser_register_then_log_in_with_the_name(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol", "correct-horse", register=True)
    expect(log(carol)).to_contain_text("Registered Carol.", timeout=TIMEOUT)
    type_line(carol, "/quit")
    expect(carol.get_by_role("status")).to_have_text(re.compile("^Disconnected"), timeout=TIMEOUT)

    again = open_page(browser, server.url, errors)
    enter(again, "Carol")  # a guest may not take it
    expect(again.locator("#login-error")).to_contain_text(
        'The name "Carol" is registered', timeout=TIMEOUT
    )
    enter(again, "Carol", "wrong-password")
    expect(again.locator("#login-error")).to_contain_text("Wrong password", timeout=TIMEOUT)
    enter(again, "Carol", "correct-horse")
    expect(again.get_by_role("status")).to_have_text("Connected as Carol", timeout=TIMEOUT)
    assert errors == []


def test_web_browser_reconnects_after_the_server_restarts(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol")
    type_line(carol, "/join #rust")
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    port = server.ports["web"]
    server.stop()
    status = carol.get_by_role("status")
    expect(status).to_have_text(
        re.compile(r"^Disconnected: Server is shutting down\. Goodbye! Reconnecting in \d+ s…$"),
        timeout=TIMEOUT,
    )
    server.start(web_port=port)
    expect(status).to_have_text("Connected as Carol", timeout=TIMEOUT)
    expect(carol.get_by_role("button", name=re.compile(r"^#rust"))).to_be_visible(timeout=TIMEOUT)
    alice = server.nc("Alice")
    alice.sendall(b"/join #rust\r\nwelcome back\r\n")
    carol.get_by_role("button", name=re.compile(r"^#rust")).click()
    expect(log(carol)).to_contain_text("Alice welcome back", timeout=TIMEOUT)
    alice.close()
    assert errors == []


def test_web_browser_phone_width_keyboard_and_labels(
    browser: Browser, server: Server, errors: list[str], tmp_path: Path
) -> None:
    phone = open_page(
        browser, server.url, errors, viewport={"width": 360, "height": 740}, color_scheme="dark"
    )
    expect(phone.get_by_label("Username", exact=True)).to_be_focused(timeout=TIMEOUT)
    phone.keyboard.type("Carol")  # keyboard only: type, Enter
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("status")).to_have_text("Connected as Carol", timeout=TIMEOUT)
    expect(phone.get_by_label("Message", exact=True)).to_be_focused()
    phone.keyboard.type("hello from a phone")
    phone.keyboard.press("Enter")
    expect(log(phone)).to_contain_text("hello from a phone", timeout=TIMEOUT)
    the_log = phone.get_by_role("log")
    assert the_log.get_attribute("aria-live") == "polite"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    box = phone.get_by_label("Message", exact=True).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert phone.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 22, 22)"
    shoot(phone, tmp_path, "web-phone.png")
    assert errors == []


def add_account(db: Path, name: str, password: str) -> None:
    """``chat-trio user add NAME`` on ``db``, as the operator does (before the server starts)."""
    subprocess.run(
        [sys.executable, "-m", "chat_trio", "user", "add", name, "--db", str(db),
         "--password-time", "1", "--password-memory", "64"],
        input=password + "\n", text=True, check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def test_web_browser_a_kick_says_who_and_why_and_does_not_reconnect(
    browser: Browser, tmp_path: Path, errors: list[str]
) -> None:
    db = tmp_path / "chat.db"
    add_account(db, "Alice", "admin-password")
    server = Server(db, "--admins", "Alice")
    try:
        # Logs in to the operator's account, from an address of her own: an admin may
        # not ban the address she is connected from (the page's user is on 127.0.0.1).
        alice = server.nc("Alice admin-password", source="127.0.0.2")
        carol = open_page(browser, server.url, errors)
        enter(carol, "Carol")
        expect(carol.get_by_role("status")).to_have_text("Connected as Carol", timeout=TIMEOUT)
        alice.sendall(b"/kill Carol spamming\r\n")
        read_until(alice, b"Disconnected Carol from the server.")
        status = carol.get_by_role("status")
        expect(status).to_have_text(
            "Disconnected: You were kicked by Alice: spamming", timeout=TIMEOUT
        )
        expect(log(carol)).to_contain_text("You were kicked by Alice: spamming")

        # A kick is not the end: "Enter again" brings the form back, the name filled in.
        carol.get_by_role("button", name="Enter again").click()
        expect(carol.get_by_label("Username", exact=True)).to_have_value("Carol", timeout=TIMEOUT)
        carol.get_by_role("button", name="Enter the chat").click()
        expect(status).to_have_text("Connected as Carol", timeout=TIMEOUT)
        members = carol.locator("#members li")
        expect(members).to_have_text(["@Alice", "Carol"], timeout=TIMEOUT)  # "@": an admin
        assert members.first.locator("abbr").get_attribute("title") == "admin"

        # A ban (of a guest: its address) ends it for good: no retrying behind a form
        # that looks usable, and the form says why.
        alice.sendall(b"/ban Carol go away\r\n")
        read_until(alice, b"Banned Carol's address")
        expect(status).to_have_text(
            "Disconnected: You were banned by Alice: go away", timeout=TIMEOUT
        )
        carol.get_by_role("button", name="Enter again").click()
        banned = "Your address is banned from this server forever."
        expect(carol.locator("#login-error")).to_have_text(banned, timeout=TIMEOUT)
        expect(status).to_have_text(f"Disconnected: {banned}", timeout=TIMEOUT)
        expect(carol.get_by_role("button", name="Enter the chat")).to_be_disabled()
        expect(carol.get_by_label("Username", exact=True)).to_be_disabled()
        alice.close()
    finally:
        server.stop()
    assert errors == []


def test_web_browser_the_login_form_never_dead_ends(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    name = carol.get_by_label("Username", exact=True)
    expect(name).to_be_enabled(timeout=TIMEOUT)
    name.press_sequentially("C" * 40)
    expect(name).to_have_value("C" * 32)  # the server's limit, not 64

    # Registering with a password the server would refuse: said on the form, not entered.
    enter(carol, "Carol", "short", register=True)
    error = carol.locator("#login-error")
    expect(error).to_have_text("A password must be 8 to 128 characters, without spaces.")
    expect(carol.locator("#chat")).to_be_hidden()

    # A taken name is not a mistake: as often as it takes.
    carol.get_by_label("Register this name, with this password").uncheck()
    carol.get_by_label("Password", exact=True).fill("")
    for _ in range(6):
        enter(carol, "alice")
        expect(error).to_contain_text('The name "alice" is already taken', timeout=TIMEOUT)
    status = carol.get_by_role("status")
    expect(status).to_have_text("Connected: choose a name")

    # Five invalid names close the connection; the form stays usable and connects again.
    for n in range(5):
        enter(carol, f"{n}nope")
        expect(error).to_contain_text("A username must start with a letter", timeout=TIMEOUT)
    expect(error).to_contain_text("Too many invalid usernames.")
    expect(status).to_have_text(
        re.compile("^Disconnected: .*Too many invalid usernames"), timeout=TIMEOUT
    )
    expect(carol.get_by_role("button", name="Enter the chat")).to_be_enabled()
    enter(carol, "Carol")
    expect(status).to_have_text("Connected as Carol", timeout=TIMEOUT)
    read_until(alice, b"* Carol joined the chat\r\n")
    alice.close()
    assert errors == []


def test_web_browser_the_only_room_quit_and_log_out_have_a_way_on(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol", "correct-horse", register=True)
    status = carol.get_by_role("status")
    expect(status).to_have_text("Connected as Carol", timeout=TIMEOUT)
    expect(carol.locator("#title")).to_have_text("Server", timeout=TIMEOUT)  # "Registered"
    expect(log(carol)).to_contain_text("Registered Carol.")
    carol.get_by_role("button", name="#lobby").click()
    expect(carol.get_by_role("button", name="Leave")).to_be_disabled()
    type_line(carol, "/leave")
    expect(log(carol)).to_contain_text(
        "You cannot leave #lobby: it is your only room.", timeout=TIMEOUT
    )
    expect(carol.locator("#title")).to_have_text("#lobby")
    expect(carol.locator("#members li")).to_have_text(["Alice", "Carol"])
    type_line(carol, "still here")  # and what is typed next is sent
    read_until(alice, b"Carol: still here\r\n")

    type_line(carol, "/quit")
    expect(status).to_have_text("Disconnected: You left the chat.", timeout=TIMEOUT)
    carol.get_by_role("button", name="Enter again").click()
    expect(carol.get_by_label("Username", exact=True)).to_have_value("Carol", timeout=TIMEOUT)
    carol.get_by_role("button", name="Enter the chat").click()  # its password is kept
    expect(status).to_have_text("Connected as Carol", timeout=TIMEOUT)

    carol.get_by_role("button", name="Log out").click()
    expect(status).to_have_text("Connected: choose a name", timeout=TIMEOUT)
    expect(carol.get_by_label("Password", exact=True)).to_have_value("")
    read_until(alice, b"* Carol left the chat\r\n")
    enter(carol, "Carol")  # without the password: the name is someone's
    expect(carol.locator("#login-error")).to_have_text(
        'The name "Carol" is registered. If it is yours, enter its password too.',
        timeout=TIMEOUT,
    )
    alice.close()
    assert errors == []


def at_bottom(page: Page) -> bool:
    return bool(
        page.evaluate(
            "(() => { const l = document.getElementById('log');"
            " return l.scrollHeight - l.scrollTop - l.clientHeight <= 8; })()"
        )
    )


def test_web_browser_reading_back_dates_long_lines_help_and_where_answers_go(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    alice.sendall(b"".join(f"line {n}\r\n".encode() for n in range(70)))
    alice.sendall(b"/users\r\n")
    read_until(alice, b"Users online: ")
    carol = open_page(browser, server.url, errors, viewport={"width": 900, "height": 500})
    # The page's clock three days on: what the server said before is from another day.
    carol.clock.install(time=time.time() + 3 * 86400)
    carol.reload()
    enter(carol, "Carol")
    expect(log(carol)).to_contain_text("line 69", timeout=TIMEOUT)
    assert at_bottom(carol)
    days = carol.locator("#log li.day")
    expect(days).to_have_count(1)
    assert not days.first.inner_text().startswith("Today")  # the history's own date
    type_line(carol, "hello")
    expect(days).to_have_count(2, timeout=TIMEOUT)
    expect(days.last).to_have_text(re.compile("^Today, "))

    # Reading back: new lines do not pull the view down; a button says they are there.
    # (The scroll event is sent at once, as a reader's would be long before the next line.)
    carol.evaluate(
        "(l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); })"
        "(document.getElementById('log'))"
    )
    alice.sendall(b"one more\r\n")
    expect(log(carol)).to_contain_text("Alice one more", timeout=TIMEOUT)
    below = carol.get_by_role("button", name="New messages below")
    expect(below).to_be_visible()
    assert carol.evaluate("document.getElementById('log').scrollTop") == 0
    below.click()
    expect(below).to_be_hidden()
    assert at_bottom(carol)
    # Earlier lines: shown where they were loaded, not under the newest.
    carol.get_by_role("button", name="Load earlier messages").click()
    expect(carol.locator("#log li.history")).to_have_count(70, timeout=TIMEOUT)
    expect(carol.locator("#log li", has_text="line 49")).to_be_in_viewport()
    assert not at_bottom(carol)

    # A line too long stays in the box, with the reason.
    box = carol.get_by_label("Message", exact=True)
    assert box.get_attribute("maxlength") == "2048"
    long = "é" * 1100  # 1100 characters, 2200 bytes
    type_line(carol, long)
    expect(carol.locator("#send-error")).to_have_text(
        "Too long to send: 2200 bytes, at most 2048. Shorten it and send again."
    )
    expect(box).to_have_value(long)

    # /help: a list, without the admins' commands; it and /whois land in "Server".
    type_line(carol, "/help")
    expect(carol.locator("#title")).to_have_text("Server", timeout=TIMEOUT)
    usages = carol.locator("#log dl.commands dt")
    expect(usages.first).to_have_text("/help", timeout=TIMEOUT)
    assert "/join #room [key]" in usages.all_inner_texts()
    assert not [u for u in usages.all_inner_texts() if u.startswith("/kill")]
    assert "/ban #room <who> [reason]" in usages.all_inner_texts()  # rooms' operators
    carol.get_by_role("button", name="#lobby").click()
    type_line(carol, "/whois Alice")
    expect(carol.locator("#title")).to_have_text("Server", timeout=TIMEOUT)
    expect(log(carol)).to_contain_text("Alice: in #lobby", timeout=TIMEOUT)
    carol.get_by_role("button", name="#lobby").click()
    assert "Alice: in #lobby" not in log(carol).inner_text()

    # A private conversation follows its peer's new name.
    alice.sendall(b"/msg Carol psst\r\n")
    expect(carol.get_by_role("button", name=re.compile("^@Alice"))).to_be_visible(timeout=TIMEOUT)
    alice.sendall(b"/nick Alicia\r\n")
    renamed = carol.get_by_role("button", name=re.compile("^@Alicia"))
    expect(renamed).to_be_visible(timeout=TIMEOUT)
    expect(carol.get_by_role("button", name=re.compile("^@Alice( |$)"))).to_have_count(0)
    renamed.click()
    expect(log(carol)).to_contain_text("Alice psst")
    expect(log(carol)).to_contain_text("Alice is now known as Alicia")
    type_line(carol, "hi Alicia")
    read_until(alice, b"[PM from Carol] hi Alicia\r\n")
    alice.close()
    assert errors == []


NOTIFICATIONS = """
window.__notes = [];
window.__asked = 0;
const Real = window.Notification;
window.Notification = class extends Real {
  constructor(title, options) { super(title, options); window.__notes.push(title); }
};
window.Notification.requestPermission = (...args) => {
  window.__asked += 1;
  return Real.requestPermission(...args);
};
let hidden = false;
Object.defineProperty(document, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
window.__hide = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
"""
"""Records the notifications shown and the permission asks (the real ones still happen),
and lets the test hide the tab (a headless tab is always visible)."""


def test_web_browser_the_basics_people_expect(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    alice = server.nc("Alice")
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    expect(dave.get_by_role("status")).to_have_text("Connected as Dave", timeout=TIMEOUT)
    carol = open_page(browser, server.url, errors, NOTIFICATIONS, permissions=["notifications"])
    enter(carol, "Carol")
    members = carol.locator("#members li")
    expect(members).to_have_text(["Alice", "Carol", "Dave"], timeout=TIMEOUT)

    # Away marks; a click on a member opens a private conversation.
    alice.sendall(b"/away lunch\r\n")
    expect(members.first).to_have_text("Alice away", timeout=TIMEOUT)
    carol.get_by_role("button", name="Dave", exact=True).click()
    expect(carol.locator("#title")).to_have_text("Dave")
    expect(carol.get_by_label("Message", exact=True)).to_be_focused()
    type_line(carol, "psst")
    dave.get_by_role("button", name=re.compile("^@Carol")).click()
    expect(log(dave)).to_contain_text("Carol psst", timeout=TIMEOUT)
    carol.get_by_role("button", name="#lobby").click()

    # Tab completes names; Up and Down go through what was sent.
    box = carol.get_by_label("Message", exact=True)
    box.fill("Da")
    box.press("Tab")
    expect(box).to_have_value("Dave: ")
    box.fill("thanks A")
    box.press("Tab")
    expect(box).to_have_value("thanks Alice ")
    box.press("Enter")
    read_until(alice, b"Carol: thanks Alice")
    type_line(carol, "second")
    box.press("ArrowUp")
    expect(box).to_have_value("second")
    box.press("ArrowUp")
    expect(box).to_have_value("thanks Alice ")
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(box).to_have_value("")

    # Mentions are marked; unread lines count in the tab's title and get a divider; a
    # hidden tab notifies (permission asked for once, on entering).
    assert carol.evaluate("window.__asked") == 0  # granted already: nothing to ask
    carol.evaluate("window.__hide(true)")
    alice.sendall(b"carol, look\r\nand this\r\n")
    expect(carol).to_have_title("(2) chat-trio", timeout=TIMEOUT)
    expect(carol.locator("#log li.mention")).to_have_text(re.compile("Alice carol, look"))
    assert carol.evaluate("window.__notes") == ["Alice in #lobby"]
    dave.get_by_role("button", name="#lobby").click()
    type_line(dave, "/msg Carol ping")
    expect(carol).to_have_title("(3) chat-trio", timeout=TIMEOUT)
    assert carol.evaluate("window.__notes") == ["Alice in #lobby", "Dave (private)"]
    carol.evaluate("window.__hide(false)")
    expect(carol).to_have_title("(1) chat-trio")  # the private line is still unread
    divider = carol.locator("#log li.divider + li")
    expect(divider).to_contain_text("carol, look")
    carol.context.close()

    # Asked once, ever: not again after logging out and in.
    eve = open_page(browser, server.url, errors, NOTIFICATIONS)
    enter(eve, "Eve")
    expect(eve.get_by_role("status")).to_have_text("Connected as Eve", timeout=TIMEOUT)
    assert eve.evaluate("window.__asked") == 1
    eve.get_by_role("button", name="Log out").click()
    expect(eve.get_by_role("status")).to_have_text("Connected: choose a name", timeout=TIMEOUT)
    enter(eve, "Eve")
    expect(eve.get_by_role("status")).to_have_text("Connected as Eve", timeout=TIMEOUT)
    assert eve.evaluate("window.__asked") == 1
    eve.context.close()
    alice.close()
    assert errors == []


def test_web_browser_registers_a_room_and_shows_who_founded_it(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = open_page(browser, server.url, errors)
    enter(carol, "Carol", "correct-horse", register=True)
    expect(log(carol)).to_contain_text("Registered Carol.", timeout=TIMEOUT)
    type_line(carol, "/join #rust")
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    type_line(carol, "/room register")
    expect(log(carol)).to_contain_text(
        "Registered #rust: its topic, modes and bans are kept", timeout=TIMEOUT
    )
    type_line(carol, "/room info")
    expect(log(carol)).to_contain_text(
        re.compile(r"#rust was registered by Carol on .*nobody else"), timeout=TIMEOUT
    )
    assert errors == []


def test_web_browser_an_operator_reads_lines_to_operators_and_lists_invitations(
    browser: Browser, tmp_path: Path, errors: list[str]
) -> None:
    server = Server(tmp_path / "chat.db", "--irc-port", "0")
    try:
        carol = carol_runs_rust(browser, server, errors)  # she runs #rust: an operator
        bob = socket.create_connection(("127.0.0.1", server.ports["IRC"]), timeout=10)
        bob.sendall(b"NICK Bob\r\nUSER bob 0 * :Bob\r\nJOIN #rust\r\nJOIN #go\r\n")
        read_until(bob, b" 366 Bob #go ")
        bob.sendall(b"PRIVMSG @#rust :ops, a word\r\n")  # IRC's STATUSMSG: to Carol only
        said = "Bob (to the operators of #rust): ops, a word"
        expect(log(carol)).to_contain_text(said, timeout=TIMEOUT)
        bob.sendall(b"INVITE Carol #go\r\n")  # Bob made #go: he runs it
        read_until(bob, b" 341 Bob Carol #go")
        type_line(carol, "/invites")
        listed = "You are invited to #go (/join #go); each invitation lasts an hour."
        expect(log(carol)).to_contain_text(listed, timeout=TIMEOUT)
        bob.close()
        assert errors == []
    finally:
        err = server.stop()
        assert "Traceback" not in err, err


def _irc_alice(port: int) -> socket.socket:
    """An IRC client with draft/read-marker, logged in to Alice's account by SASL PLAIN,
    as the nick Alice_irc."""
    irc = socket.create_connection(("127.0.0.1", port), timeout=10)
    plain = base64.b64encode(b"\0Alice\0alice-password")
    irc.sendall(
        b"CAP LS 302\r\nNICK Guest\r\nUSER alice 0 * :Alice\r\n"
        b"CAP REQ :sasl draft/read-marker\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain + b"\r\n"
    )
    read_until(irc, b" 903 ")
    irc.sendall(b"CAP END\r\nNICK Alice_irc\r\n")
    read_until(irc, b" NICK Alice_irc\r\n")
    return irc


def test_web_browser_reading_on_one_device_marks_it_read_on_the_others(
    browser: Browser, tmp_path: Path, errors: list[str]
) -> None:
    """Read markers: two pages logged in to one account (a phone and a laptop) and an IRC
    client of it with draft/read-marker. Reading a room on the laptop clears its unread
    count on the phone and moves the IRC client's marker; an IRC client's MARKREAD clears
    the unread counts of both pages."""
    db = tmp_path / "chat.db"
    add_account(db, "Alice", "alice-password")
    server = Server(db, "--irc-port", "0")
    try:
        phone = open_page(browser, server.url, errors)
        enter(phone, "Alice", "alice-password")
        expect(phone.get_by_role("status")).to_have_text("Connected as Alice", timeout=TIMEOUT)
        type_line(phone, "/nick Alice_phone")  # "Alice" is for the laptop to log in as
        expect(phone.get_by_role("status")).to_have_text(
            "Connected as Alice_phone", timeout=TIMEOUT
        )
        irc = _irc_alice(server.ports["IRC"])  # (a login takes the account's name: then
        laptop = open_page(browser, server.url, errors)  # each leaves it for the next)
        enter(laptop, "Alice", "alice-password")
        expect(laptop.get_by_role("status")).to_have_text("Connected as Alice", timeout=TIMEOUT)
        for page in (phone, laptop):  # both in #rust, both looking at #lobby
            join_from_the_form(page, "rust")
            expect(page.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
            page.get_by_role("button", name=re.compile(r"^#lobby")).click()
            expect(page.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
        bob = server.nc("Bob")
        bob.sendall(b"/join #rust\r\none\r\ntwo\r\n")
        rust = {p: p.get_by_role("button", name=re.compile(r"^#rust")) for p in (phone, laptop)}
        for page in (phone, laptop):
            expect(rust[page].locator(".unread")).to_have_text("2", timeout=TIMEOUT)
            expect(page).to_have_title("(2) chat-trio", timeout=TIMEOUT)

        rust[laptop].click()  # read on the laptop: read on the phone too
        expect(log(laptop)).to_contain_text("two", timeout=TIMEOUT)
        expect(rust[phone].locator(".unread")).to_have_count(0, timeout=TIMEOUT)
        expect(phone).to_have_title("chat-trio", timeout=TIMEOUT)
        assert b"MARKREAD #rust timestamp=" in read_until(irc, b"MARKREAD #rust timestamp=")

        # The other way: read in the IRC client (while both pages look at #rust).
        rust[phone].click()
        bob.sendall(b"/join #lobby\r\nthree\r\n")
        lobby = {p: p.get_by_role("button", name=re.compile(r"^#lobby")) for p in (phone, laptop)}
        for page in (phone, laptop):
            expect(lobby[page].locator(".unread")).to_have_text("1", timeout=TIMEOUT)
        read_until(irc, b"PRIVMSG #lobby three\r\n")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.999Z", time.gmtime())
        irc.sendall(f"MARKREAD #lobby timestamp={stamp}\r\n".encode())
        for page in (phone, laptop):
            expect(lobby[page].locator(".unread")).to_have_count(0, timeout=TIMEOUT)
            expect(page).to_have_title("chat-trio", timeout=TIMEOUT)
        irc.close()
        bob.close()
    finally:
        err = server.stop()
        assert "Traceback" not in err, err


def test_web_browser_lines_read_as_they_arrive_are_marked_at_most_every_five_seconds(
    browser: Browser, tmp_path: Path, errors: list[str]
) -> None:
    """Each mark-read costs a flood token (two a second by default): lines arriving in
    the room being read are marked at most every five seconds, not every second, so a
    typist in a busy room is never told to slow down by the page's own marks."""
    db = tmp_path / "chat.db"
    add_account(db, "Alice", "alice-password")
    server = Server(db)
    try:
        marks: list[tuple[float, dict[str, Any]]] = []  # (when sent, the mark-read)

        def frame(payload: str | bytes) -> None:
            sent = json.loads(payload)
            if sent.get("type") == "mark-read":
                marks.append((time.monotonic(), sent))

        page = browser.new_context().new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("websocket", lambda ws: ws.on("framesent", frame))
        page.goto(server.url)
        enter(page, "Alice", "alice-password")
        join_from_the_form(page, "rust")
        expect(page.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
        bob = server.nc("Bob")
        bob.sendall(b"/join #rust\r\n")
        expect(page.locator("#members li")).to_have_count(2, timeout=TIMEOUT)
        first = time.monotonic()
        for n in range(6):  # a line every 0.4 s, for 2 s
            bob.sendall(f"line {n}\r\n".encode())
            expect(log(page)).to_contain_text(f"line {n}", timeout=TIMEOUT)
            page.wait_for_timeout(400)
        assert [m for m in marks if m[0] >= first] == []  # none yet: the first waits 5 s
        deadline = time.monotonic() + TIMEOUT / 1000
        while not [m for m in marks if m[0] >= first] and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        later = [m for m in marks if m[0] >= first]
        assert len(later) == 1 and later[0][1]["target"] == "#rust", later
        assert later[0][0] - first >= 4.5  # (a second's delay sent two marks by now)
        bob.close()
        assert errors == []
    finally:
        err = server.stop()
        assert "Traceback" not in err, err


def test_web_browser_whowas_typed_on_the_page_says_who_had_the_name(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = carol_runs_rust(browser, server, errors)
    bob = server.nc("Bob")
    bob.sendall(b"/nick Bobby\r\n")  # "Bob" given up
    read_until(bob, b"Bobby")
    type_line(carol, "/whowas bob")
    expect(carol.locator("#title")).to_have_text("Server", timeout=TIMEOUT)  # the answer
    expect(log(carol)).to_contain_text(
        re.compile(r"Bob \(Bob\) was here until \d{4}-\d\d-\d\d \d\d:\d\d UTC\."),
        timeout=TIMEOUT,
    )
    bob.close()
    assert errors == []


def test_web_browser_delete_own_message_or_any_as_operator_for_everyone(
    browser: Browser, server: Server, errors: list[str]
) -> None:
    carol = carol_runs_rust(browser, server, errors)
    type_line(carol, "welcome to rust")
    dave = open_page(browser, server.url, errors)
    enter(dave, "Dave")
    join_from_the_form(dave, "rust")
    alice = server.nc("Alice")
    alice.sendall(b"/join #rust\r\n")
    read_until(alice, b"You joined #rust")
    expect(carol.locator("#members li")).to_have_count(3, timeout=TIMEOUT)
    type_line(dave, "my own typo")
    alice.sendall(b"buy cheap watches\r\n")
    typo = dave.locator("#log li.said", has_text="my own typo")
    spam = dave.locator("#log li.said", has_text="buy cheap watches")
    expect(spam).to_have_count(1, timeout=TIMEOUT)
    # Dave is offered to delete his own line only; Carol, who runs #rust, any line.
    expect(typo.get_by_role("button", name="Delete this message by Dave")).to_be_visible()
    expect(spam.get_by_role("button")).to_have_count(0)
    carol_spam = carol.locator("#log li.said", has_text="buy cheap watches")
    carol_spam.get_by_role("button", name="Delete this message by Alice").click()
    for page in (carol, dave):
        deleted = page.locator("#log li.deleted")
        expect(deleted).to_have_count(1, timeout=TIMEOUT)
        expect(deleted).to_contain_text("message deleted by Carol")
        expect(log(page)).not_to_contain_text("buy cheap watches")
    read_until(alice, b"* Carol deleted a message by Alice in #rust.\r\n")
    typo.get_by_role("button", name="Delete this message by Dave").click()
    expect(carol.locator("#log li.deleted")).to_have_count(2, timeout=TIMEOUT)
    expect(log(carol)).not_to_contain_text("my own typo")
    read_until(alice, b"* Dave deleted their own message in #rust.\r\n")
    # Gone from the history too: the database file, and what the next to join reads.
    stored = sqlite3.connect(f"file:{server.db}?mode=ro", uri=True)
    texts = [row[0] for row in stored.execute("SELECT text FROM history")]
    stored.close()
    assert "buy cheap watches" not in texts and "my own typo" not in texts
    erin = open_page(browser, server.url, errors)
    enter(erin, "Erin")
    join_from_the_form(erin, "rust")
    expect(erin.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    expect(log(erin)).to_contain_text("welcome to rust", timeout=TIMEOUT)
    expect(log(erin)).not_to_contain_text("cheap watches")
    alice.close()
    assert errors == []
