"""Carrying out the rules' outputs that need no waiting: delivery and history records.

Replies are rendered by the receiving connection's own door (the hub holds each outbox's
``render``); broadcasts are rendered at the flush, once per view (hub.py). Outputs that
wait for storage or a worker thread are carried out by the session (session.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from chat_trio.chat.events import Action, ConnId, Event, Joined, Left, NickChanged, Reason, Said
from chat_trio.chat.outputs import Broadcast, Close, Output, Record, Reply, Subscribe, Unsubscribe
from chat_trio.delivery.hub import Hub
from chat_trio.doors import Door
from chat_trio.storage.store import Store

_OTHER_EVENT_SIZE = 64  #: bytes a notice is reckoned at for flow control (see ``size``)


def size(events: Sequence[Event]) -> int:
    """About how many bytes ``events`` render to: flow control's round budget counts it
    before any door has rendered them (chat lines dominate every flood)."""
    total = 0
    for event in events:
        if isinstance(event, (Said, Action)):
            total += len(event.name) + len(event.text) + 4
        elif isinstance(event, (Joined, Left)):  # a storm of joins is all notices
            total += len(event.name) + 18  # "* Bob joined the chat\r\n": the shortest
        elif isinstance(event, NickChanged):
            total += len(event.old) + len(event.new) + 21
        else:
            total += _OTHER_EVENT_SIZE
    return total


def carry_out(
    conn: ConnId, door: Door, output: Output, hub: Hub, store: Store | None
) -> Reason | None:
    """Carry out one output that needs no waiting, for the session of ``conn`` (whose door
    is ``door``). Returns the reason if it closes ``conn`` itself."""
    if isinstance(output, Broadcast):
        hub.publish(output.events, output.room, output.exclude, size(output.events))
    elif isinstance(output, Reply):
        if output.to == conn:
            hub.send(conn, door.render(output.events))
        else:
            hub.send_events(output.to, output.events)
    elif isinstance(output, Subscribe):
        hub.subscribe(output.conn, output.room, door.view(output.room))
    elif isinstance(output, Unsubscribe):
        hub.unsubscribe(output.conn, output.room)
    elif isinstance(output, Record):
        if store is not None:
            store.record_nowait(output.entries)
    elif isinstance(output, Close):
        if output.conn == conn:
            return output.reason
        hub.finish(output.conn, output.reason)  # another user, kicked: after its last lines
    return None


def follow_views(conn: ConnId, door: Door, hub: Hub) -> None:
    """The door now wants some rooms rendered another way (the text door's current room
    moved): tell the hub."""
    for room, view in door.views_changed():
        hub.subscribe(conn, room, view)
