"""Per-channel sequence numbers, without trio: each rule of chat_trio/nodes/sequence.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_trio.nodes.sequence import Kind, Seen, Sequences


def test_sequence_in_order_every_event_is_new() -> None:
    seqs = Sequences()
    assert [seqs.observe("a", n) for n in (1, 2, 3)] == [Seen.NEW] * 3
    assert seqs.last("a") == 3


def test_sequence_the_first_number_seen_is_new_whatever_it_is() -> None:
    seqs = Sequences()
    assert seqs.observe("a", 500) is Seen.NEW  # subscribed late: what came before was not ours
    assert seqs.observe("a", 501) is Seen.NEW


def test_sequence_a_number_seen_already_is_a_duplicate() -> None:
    seqs = Sequences()
    for n in (1, 2, 3):
        seqs.observe("a", n)
    assert seqs.observe("a", 3) is Seen.DUPLICATE
    assert seqs.observe("a", 1) is Seen.DUPLICATE
    assert seqs.last("a") == 3  # a duplicate changes nothing
    assert seqs.observe("a", 4) is Seen.NEW


def test_sequence_a_jump_is_a_gap_saying_how_many_were_missed() -> None:
    seqs = Sequences()
    seqs.observe("a", 1)
    seen = seqs.observe("a", 5)
    assert seen == Seen.gap(3)
    assert (seen.kind, seen.missed) == (Kind.GAP, 3)
    assert seqs.observe("a", 6) is Seen.NEW  # delivered, and the count goes on from it
    assert seqs.observe("a", 4) is Seen.DUPLICATE  # a late one after the gap: dropped


def test_sequence_channels_are_counted_apart() -> None:
    seqs = Sequences()
    seqs.observe("a", 1)
    assert seqs.observe("b", 7) is Seen.NEW
    assert seqs.observe("a", 2) is Seen.NEW
    assert seqs.observe("b", 9) == Seen.gap(1)
    assert seqs.channels() == 2


def test_sequence_forget_makes_the_next_number_a_first_again() -> None:
    seqs = Sequences()
    seqs.observe("a", 1)
    seqs.forget("a")
    assert seqs.last("a") is None
    assert seqs.channels() == 0
    assert seqs.observe("a", 40) is Seen.NEW  # published while unsubscribed: not a gap
    seqs.forget("never seen")  # forgetting a stranger is harmless


def test_sequence_a_reconnect_alone_resets_nothing() -> None:
    """Same Redis, counters kept: the numbers go on, and a gap over the outage shows."""
    seqs = Sequences()
    seqs.observe("a", 10)
    assert seqs.observe("a", 14) == Seen.gap(3)


def test_sequence_a_restarted_counter_is_not_taken_for_duplicates() -> None:
    """Redis lost its data: without restart() every event would be dropped; with it the
    count starts again, and what was missed since the restart is a gap."""
    seqs = Sequences()
    for n in range(1, 901):
        seqs.observe("a", n)
    assert seqs.observe("a", 3) is Seen.DUPLICATE  # what the numbers alone would say
    seqs.restart("a")  # the caller read the counter (3) and saw it below last (900)
    assert seqs.last("a") == 0
    assert seqs.observe("a", 3) == Seen.gap(2)  # 1 and 2 were published before we were back
    assert seqs.observe("a", 4) is Seen.NEW
    seqs.restart("b")
    assert seqs.observe("b", 1) is Seen.NEW


@pytest.mark.parametrize("seq", [0, -1])
def test_sequence_a_number_below_one_is_refused_clearly(seq: int) -> None:
    with pytest.raises(ValueError, match=f"sequence numbers start at 1, not {seq}"):
        Sequences().observe("a", seq)


@given(st.lists(st.integers(min_value=1, max_value=30), max_size=60))
def test_sequence_any_arrival_order_accounts_for_every_number(arrived: list[int]) -> None:
    """Whatever order numbers arrive in: each number is delivered at most once, delivered
    ones rise, and delivered plus missed is exactly every number from the first to the
    highest (nothing is lost without being announced)."""
    seqs = Sequences()
    delivered, missed = [], 0
    for seq in arrived:
        seen = seqs.observe("a", seq)
        if seen.kind is not Kind.DUPLICATE:
            delivered.append(seq)
            missed += seen.missed
    assert delivered == sorted(set(delivered))
    if arrived:
        assert len(delivered) + missed == max(arrived) - arrived[0] + 1
        assert seqs.last("a") == max(arrived)
