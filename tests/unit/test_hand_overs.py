"""Unit: the relay's bookkeeping of hand-overs (shared/outbox.py HandOvers),
which decides when marking events sent may skip reading the document."""
from shared.outbox import HandOvers


def envelope(event_id):
    return {"event_id": event_id}


def test_the_latest_hand_over_that_named_every_pending_event_may_skip_the_read():
    hand_overs = HandOvers(queued_max=10)
    hand_overs.add("things", "t", [envelope("a")], {"a"})
    hand_over = hand_overs.next()
    assert hand_overs.all_sent(hand_over, ["a"])() is True


def test_a_later_write_makes_an_earlier_hand_over_read():
    hand_overs = HandOvers(queued_max=10)
    hand_overs.add("things", "t", [envelope("a")], {"a"})
    hand_overs.add("things", "t", [envelope("b")], {"a", "b"})
    hand_overs.add("things", "other", [envelope("c")], {"c"})
    first, second, other = hand_overs.next(), hand_overs.next(), hand_overs.next()
    assert hand_overs.all_sent(first, ["a"])() is False
    assert hand_overs.all_sent(second, ["a", "b"])() is True
    assert hand_overs.all_sent(other, ["c"])() is True


def test_an_event_not_sent_or_not_known_to_be_the_last_means_a_read():
    hand_overs = HandOvers(queued_max=10)
    hand_overs.add("things", "t", [envelope("b")], {"a", "b"})   # "a" refused earlier
    hand_overs.add("things", "u", [envelope("c")], None)         # the writer did not read it
    refused_earlier, unknown = hand_overs.next(), hand_overs.next()
    assert hand_overs.all_sent(refused_earlier, ["b"]) is None
    assert hand_overs.all_sent(unknown, ["c"]) is None


def test_a_dropped_hand_over_still_counts_as_the_latest_write():
    hand_overs = HandOvers(queued_max=1)
    hand_overs.add("things", "t", [envelope("a")], {"a"})
    hand_overs.add("things", "t", [envelope("b")], {"b"})  # queue full: dropped, left to the scan
    assert len(hand_overs) == 1
    kept = hand_overs.next()
    assert hand_overs.all_sent(kept, ["a"])() is False


def test_done_forgets_only_its_own_number_and_forgetting_all_costs_only_reads():
    hand_overs = HandOvers(queued_max=10, latest_max=2)
    hand_overs.add("things", "t", [envelope("a")], {"a"})
    first = hand_overs.next()
    hand_overs.add("things", "t", [envelope("b")], {"a", "b"})
    hand_overs.done(first)  # a later write is the latest now: kept
    second = hand_overs.next()
    assert hand_overs.all_sent(second, ["a", "b"])() is True
    hand_overs.done(second)
    assert hand_overs.all_sent(second, ["a", "b"])() is False
    hand_overs.add("things", "x", [envelope("x")], {"x"})
    hand_overs.add("things", "y", [envelope("y")], {"y"})
    hand_overs.add("things", "z", [envelope("z")], {"z"})  # over latest_max: the others forgotten
    x, y, z = hand_overs.next(), hand_overs.next(), hand_overs.next()
    assert [hand_overs.all_sent(h, [h.document_id])() for h in (x, y, z)] == [False, False, True]
