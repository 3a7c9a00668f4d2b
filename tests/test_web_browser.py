"""The page in a real browser: Debian's Chromium, headless, driven by Playwright's sync API,
against the server as a user runs it (``chat-trio serve`` in a subprocess), beside nc users
on a real socket.

Playwright cannot download its own browser here; ``executable_path`` points it at the
system's. Its async API does not run under trio, hence the sync API and the subprocess.
Every wait is Playwright's ``expect`` (bounded by ``TIMEOUT``) or a bounded socket read.
Set ``CHAT_TRIO_SCREENSHOTS`` to a directory to keep the screenshots (docs/ has them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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

    def nc(self, name: str) -> socket.socket:
        """An nc user who typed ``name`` at the prompt (a name, or a name and password)."""
        sock = socket.create_connection(("127.0.0.1", self.ports["text"]), timeout=10)
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


def open_page(browser: Browser, url: str, errors: list[str], **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
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
    carol.get_by_label("Room to join").fill("rust")
    carol.get_by_label("Room to join").press("Enter")
    expect(carol.locator("#title")).to_have_text("#rust", timeout=TIMEOUT)
    expect(carol.locator("#members li")).to_have_text(["Carol"], timeout=TIMEOUT)

    alice.sendall(b"/join #rust\r\n")
    expect(carol.locator("#members li")).to_have_text(["Alice", "Carol"], timeout=TIMEOUT)
    alice.sendall(b"/topic crabs are fast\r\n")
    expect(carol.locator("#topic")).to_have_text("crabs are fast", timeout=TIMEOUT)

    carol.get_by_role("button", name="#lobby").click()
    expect(carol.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    alice.sendall(b"one\r\ntwo\r\n")
    unread = carol.get_by_role("button", name=re.compile(r"^#rust"))
    expect(unread.locator(".unread")).to_have_text("2", timeout=TIMEOUT)
    unread.click()
    expect(log(carol)).to_contain_text("Alice two", timeout=TIMEOUT)
    expect(unread.locator(".unread")).to_have_count(0, timeout=TIMEOUT)

    alice.sendall(b"/nick Alicia\r\n")
    expect(carol.locator("#members li")).to_have_text(["Alicia", "Carol"], timeout=TIMEOUT)
    alice.sendall(b"/leave #rust\r\n")
    expect(carol.locator("#members li")).to_have_text(["Carol"], timeout=TIMEOUT)

    carol.get_by_role("button", name="Leave").click()
    expect(carol.locator("#title")).to_have_text("#lobby", timeout=TIMEOUT)
    expect(carol.get_by_role("button", name=re.compile(r"^#rust"))).to_have_count(0)
    alice.close()
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
    expect(carol.locator("#log li").first).to_contain_text("line 0")
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


def test_web_browser_a_kick_says_who_and_why_and_does_not_reconnect(
    browser: Browser, tmp_path: Path, errors: list[str]
) -> None:
    db = tmp_path / "chat.db"
    subprocess.run(
        [sys.executable, "-m", "chat_trio", "user", "add", "Alice", "--db", str(db),
         "--password-time", "1", "--password-memory", "64"],
        input="admin-password\n", text=True, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server = Server(db, "--admins", "Alice")
    try:
        alice = server.nc("Alice admin-password")  # logs in to the operator's account
        carol = open_page(browser, server.url, errors)
        enter(carol, "Carol")
        expect(carol.get_by_role("status")).to_have_text("Connected as Carol", timeout=TIMEOUT)
        alice.sendall(b"/kick Carol spamming\r\n")
        read_until(alice, b"Kicked Carol.")
        status = carol.get_by_role("status")
        expect(status).to_have_text(
            "Disconnected: You were kicked by Alice: spamming", timeout=TIMEOUT
        )
        expect(log(carol)).to_contain_text("You were kicked by Alice: spamming")
        alice.close()
    finally:
        server.stop()
    assert errors == []
