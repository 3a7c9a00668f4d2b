"""The running server's task tree: read from trio, collapsed, drawn as text.

Two halves, kept apart so the drawing can be tested without trio:

- ``walk(root)`` reads the tree trio keeps: every task's ``child_nurseries``, every
  nursery's ``child_tasks``, from ``trio.lowlevel.current_root_task()`` down. It is plain
  synchronous code: it never awaits, so the tree cannot change while it is read, and it is
  bounded (``MAX_DEPTH`` levels, ``MAX_TASKS`` tasks); the tasks it stops at are counted
  in the ``Tree`` it returns (not what runs under them: counting that would be a walk).
- ``render(tree)`` draws it (pure): siblings with the same name *and* the same subtree are
  one line with their count (``server._admit``, a multiplication sign, ``1,532``), so ten
  thousand connections are a few lines, and one that looks different stands out.

Names are the code's own: trio names a task after the function it runs (its module and
qualified name); ``shorten`` drops our package's prefix, the same way for every task, so
``chat_trio.server._admit`` is ``server._admit``. A nursery has no name in trio; it is
shown as the variable the code keeps it in (``clients``, ``listening``), found among the
locals of the task that opened it, or as ``nursery`` when no variable holds it.

What the tree can show: names of functions and variables, and counts. Never an argument, a
user's name or an address (docs/security.md): a task's name comes from the function alone
(trio unwraps ``functools.partial``), and no task here is started with a ``name=`` of its
own.
"""

from __future__ import annotations

import base64
import collections
import getpass
import heapq
import http.client
import sys
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import IO, TextIO

import attrs
import trio

MAX_DEPTH = 40
"""Levels of tasks walked below the root. The server's deepest task is about ten levels
down; the cap is for a tree gone wrong (a task that starts itself), never reached."""

MAX_TASKS = 50_000
"""Tasks walked at most. 10,000 idle connections are about 10,000 tasks, walked in about
0.2 s on a 2-core machine: a pause everyone feels once, and only when someone asks. Past
this many the pause would pass a second, so the rest is counted as cut instead."""

TIMES = "\N{MULTIPLICATION SIGN}"  #: before the count of alike siblings

PREFIX = "chat_trio."
"""What ``shorten`` drops from a task's name: every task of ours has it."""


@attrs.frozen(cache_hash=True)
class Nursery:
    """One nursery: the name the code gives it, and the tasks running in it."""

    name: str  #: the variable that holds it in the task that opened it; "nursery": none
    tasks: tuple[Task, ...] = ()  #: in the order they were started


@attrs.frozen(cache_hash=True)
class Task:
    """One task: its name, and the nurseries it has open (outermost first)."""

    name: str  #: the function it runs (``shorten``: without our package's prefix)
    nurseries: tuple[Nursery, ...] = ()


@attrs.frozen
class Tree:
    """What ``walk`` found, and what it left out."""

    root: Task
    tasks: int  #: tasks walked
    cut_deep: int = 0  #: tasks not walked, ``max_depth`` levels down (nor what runs under them)
    cut_many: int = 0  #: tasks not walked past ``max_tasks`` (nor what runs under them)
    max_depth: int = MAX_DEPTH  #: the walk's bounds
    max_tasks: int = MAX_TASKS


def shorten(name: str) -> str:
    """A task's name as the tree shows it: ``chat_trio.server._admit`` -> ``server._admit``."""
    return name.removeprefix(PREFIX)


# -- reading trio's tree (sync: never awaits) ------------------------------------------------


def walk(
    root: trio.lowlevel.Task | None = None,
    *,
    max_depth: int = MAX_DEPTH,
    max_tasks: int = MAX_TASKS,
) -> Tree:
    """The tree of tasks under ``root`` as it is now (None: the whole process's, from
    ``trio.lowlevel.current_root_task()``). Never blocks; reads at most ``max_tasks``
    tasks and ``max_depth`` levels, and counts what it left out.

    Raises:
      RuntimeError: ``root`` is None and trio is not running.
    """
    root = root or trio.lowlevel.current_root_task()
    if root is None:
        raise RuntimeError("the task tree is read from inside trio.run")
    counts = collections.Counter[str]()
    seen: dict[object, list[str]] = {}  # _nursery_names' answers, by where a task waits

    def task(found: trio.lowlevel.Task, depth: int) -> Task:
        counts["tasks"] += 1
        names = _nursery_names(found, seen)
        nurseries = []
        for nursery, name in zip(found.child_nurseries, names, strict=True):
            children = nursery.child_tasks
            if depth >= max_depth:
                counts["deep"] += len(children)
                children = frozenset()
            walked = []
            for index, child in enumerate(_started_order(children, max_tasks - counts["tasks"])):
                if counts["tasks"] >= max_tasks:
                    counts["many"] += len(children) - index
                    break
                walked.append(task(child, depth + 1))
            else:
                counts["many"] += len(children) - len(walked)  # (none, or past the bound)
            nurseries.append(Nursery(name, tuple(walked)))
        return Task(shorten(found.name), tuple(nurseries))

    top = task(root, 0)
    return Tree(top, counts["tasks"], counts["deep"], counts["many"], max_depth, max_tasks)


def _started_order(tasks: frozenset[trio.lowlevel.Task], first: int) -> list[trio.lowlevel.Task]:
    """The ``first`` of ``tasks`` to be started, in that order (none if ``first`` < 1).
    trio keeps a nursery's children in a set; each task has a creation number, private to
    trio, that says the order. Without it (a trio that drops it), by name: stable, if not
    the order of the code.

    Only as many as the walk has room for are ordered (``heapq.nsmallest``), so a nursery
    of 50,000 connections past ``MAX_TASKS`` costs a count, not a sort of them all."""
    if first < 1 or not tasks:
        return []

    def started(task: trio.lowlevel.Task) -> tuple[int, str]:
        return getattr(task, "_counter", 0), task.name

    if first >= len(tasks):
        return sorted(tasks, key=started)
    return heapq.nsmallest(first, tasks, key=started)


def _frames(task: trio.lowlevel.Task) -> Iterator[types.FrameType]:
    """The frames of ``task``'s coroutine, from its function inward, as far as it awaits
    other coroutines (bounded like the walk)."""
    awaiting: object = task.coro
    for _ in range(MAX_DEPTH):
        frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "ag_frame", None)
        if frame is None:
            frame = getattr(awaiting, "gi_frame", None)
        if not isinstance(frame, types.FrameType):
            return
        yield frame
        awaiting = (
            getattr(awaiting, "cr_await", None)
            or getattr(awaiting, "ag_await", None)
            or getattr(awaiting, "gi_yieldfrom", None)
        )


def _nursery_names(task: trio.lowlevel.Task, seen: dict[object, list[str]]) -> list[str]:
    """The variable that holds each nursery ``task`` has open, in order, as the code that
    opened it calls it ("nursery" where none does).

    Reading a frame's variables is the slow part of a walk, so ``seen`` remembers the
    answer for each place the code can be suspended at (the chain of functions and lines
    the task is in): ten thousand connections waiting at the same line are read once."""
    nurseries = task.child_nurseries
    if not nurseries:
        return []
    frames = list(_frames(task))
    where = tuple((id(frame.f_code), frame.f_lasti) for frame in frames), len(nurseries)
    if (known := seen.get(where)) is not None:
        return known
    ids = {id(nursery): index for index, nursery in enumerate(nurseries)}
    names = ["nursery"] * len(nurseries)
    found: set[int] = set()
    for frame in frames:
        for variable, value in frame.f_locals.items():
            index = ids.get(id(value))
            if index is not None and index not in found and not variable.startswith("_"):
                names[index] = variable
                found.add(index)
    seen[where] = names
    return names


# -- drawing (pure) --------------------------------------------------------------------------


def render(tree: Tree) -> str:
    """The tree as text, one line per task or group of alike siblings, each nursery as
    ``[its name]`` with its tasks under it, and a last line saying how many tasks there
    are and what was cut."""
    lines = [tree.root.name, *_under(_children(tree.root), "")]
    total = f"{tree.tasks:,} tasks"
    if tree.cut_deep:
        total += f"; not shown: {tree.cut_deep:,} more {tree.max_depth} levels down"
    if tree.cut_many:
        total += f"; not shown: {tree.cut_many:,} more past the first {tree.max_tasks:,}"
    if tree.cut_deep or tree.cut_many:
        total += ", and the tasks under them"
    return "\n".join([*lines, "", f"({total})"]) + "\n"


_Item = tuple[str, list["_Item"]]  # a line's text, and the items under it


def _children(task: Task) -> list[_Item]:
    """What is drawn under ``task``: its outermost nursery (the others are inside it)."""
    return [_nursery(task.nurseries)] if task.nurseries else []


def _nursery(nurseries: tuple[Nursery, ...]) -> _Item:
    """The first of ``nurseries``, with its tasks and, last, the next one: a task's
    nurseries are always nested, each opened inside the one before it."""
    first, inner = nurseries[0], nurseries[1:]
    items: list[_Item] = []
    for task, count in _grouped(first.tasks):
        shown = task.name if count == 1 else f"{task.name} {TIMES}{count:,}"
        items.append((shown, _children(task)))
    if inner:
        items.append(_nursery(inner))
    return f"[{first.name}]", items


def _under(items: list[_Item], indent: str) -> list[str]:
    lines = []
    for index, (text, below) in enumerate(items):
        last = index == len(items) - 1
        lines.append(f"{indent}{'└── ' if last else '├── '}{text}")
        lines += _under(below, indent + ("    " if last else "│   "))
    return lines


def _grouped(tasks: tuple[Task, ...]) -> list[tuple[Task, int]]:
    """Siblings that are alike (the same name and the same subtree: ``Task`` is a frozen
    value, so equal means alike) as one, with their count, in the order each first came."""
    return list(collections.Counter(tasks).items())


# -- `chat-trio tasks`: asking a running server (no trio: one blocking request) -------------

ASK_TIMEOUT = 10.0
"""Seconds ``chat-trio tasks`` waits for the server's answer: a walk of 20,000 tasks takes
well under one; a server that does not answer within this is said to be stuck."""


def ask(
    host: str,
    port: int | None,
    admin: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """``chat-trio tasks``: print the tree of the server whose operator's port is
    ``host:port``, as ``admin`` (an admin's account, whose password is asked for on the
    terminal or read as one line from ``stdin``) or, from this machine, as nobody.

    Returns the exit status: 0 shown; 1 the server could not be reached or refused (one
    line on stderr, saying why); 2 no port to ask (the server's ``--metrics-port``).

    It asks ``host:port`` itself: never through a proxy (``http_proxy`` is ignored), and
    never follows a redirect (a 3xx is an error), so the password goes nowhere else."""
    if port is None:
        _say("which port? The server's operator port: chat-trio tasks --metrics-port PORT")
        return 2
    request = urllib.request.Request(f"http://{_url_host(host)}:{port}/tasks")
    if admin is not None:
        password = _password(admin, stdin)
        if not password:
            _say(
                f'no password on standard input: echo "$PASSWORD" | chat-trio tasks --admin {admin}'
            )
            return 1
        token = base64.b64encode(f"{admin}:{password}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    try:
        with _opener().open(request, timeout=ASK_TIMEOUT) as response:
            stdout.write(response.read().decode())
    except urllib.error.HTTPError as refused:
        if 300 <= refused.code < 400:  # not followed: the password goes nowhere else
            _say(f"{_url_host(host)}:{port} answered {refused.code} (elsewhere), not its "
                 f"tasks: is {port} the server's --metrics-port?")  # fmt: skip
            return 1
        answer = refused.read().decode(errors="replace").strip() or str(refused.code)
        _say(answer.splitlines()[0])
        return 1
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        _say(f"cannot ask {_url_host(host)}:{port} for its tasks: {reason} (is the server "
             f"running with --metrics-port {port}?)")  # fmt: skip
        return 1
    return 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: a 3xx stays the error it is (an ``HTTPError``)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    """urllib's opener, less what would send the admin's password elsewhere than to the
    server asked: no proxy (``urlopen`` takes ``http_proxy`` from the environment and
    would hand the Basic password, in clear, to it) and no redirect (urllib follows one
    keeping the ``Authorization`` header, to whatever host it names)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _password(admin: str, stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass(f"Password for {admin}: ")
    return stdin.readline().rstrip("\r\n")


def _say(line: str) -> None:
    print(f"chat-trio: {line}", file=sys.stderr)
