"""Completeness: every problem and outcome has its sentence, and every event the rules
make has a form on every door (a line, an IRC message or numeric, a JSON object), or is
left out on purpose."""

from __future__ import annotations

import pytest

from chat_trio.chat import events as ev
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.doors import wording
from chat_trio.doors.irc.door import IrcDoor
from chat_trio.doors.irc.render import NUMERICS, broadcast_line, irc_view
from chat_trio.doors.text.door import TextDoor
from chat_trio.doors.web import dialect
from tests.test_web_dialect import SAMPLES

TEXT_SILENT = {ev.Away, ev.AccountChanged, ev.MarkedRead, ev.RealnameChanged, ev.Watched}
"""Others' away, account and real-name news, news of watched people, and read markers: no
line on a terminal (IRC clients with the right capability get them; the page shows away
and account news in its member list and counts unread lines by the markers; real-name
news and news of watched people it ignores: no command of the page asks for them)."""

IRC_SILENT = {ev.AskName, ev.Unheard}
"""The prompt is the text door's; IRC shows the member list instead of "nobody is here"."""


def test_wording_every_problem_and_outcome_has_a_sentence() -> None:
    assert set(wording.PROBLEMS) == set(Problem)
    assert set(wording.OUTCOMES) == set(Outcome)
    for problem in Problem:
        said = wording.refusal(ev.Refused(problem, name="Bob", room="#r", limit=5, rate=2.0))
        assert said and "\n" not in said and not said[0].islower(), problem
        assert not said.startswith("* "), problem  # the text door's layout, not the words


def test_wording_every_numeric_is_three_digits() -> None:
    assert all(numeric.isdigit() and len(numeric) == 3 for numeric, _ in NUMERICS.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_wording_every_event_has_a_form_on_every_door(event: ev.Event) -> None:
    shown = TextDoor().render([event])
    assert shown or type(event) in TEXT_SILENT or event == ev.RoomEntered("#r", 1, "", True, True)
    every_cap = irc_view(True, True, True, True, True, True, True, True)
    door = IrcDoor()
    # others' invitations, read markers, real names and news of watched people: with these
    door.replies.caps = frozenset(
        {"invite-notify", "draft/read-marker", "setname", "extended-monitor", "away-notify"}
    )
    irc = door.render([event]) or broadcast_line(event, "#rust", view=every_cap).encode()
    assert irc or type(event) in IRC_SILENT, event
    assert dialect.encode([event]).startswith(b"[{")
