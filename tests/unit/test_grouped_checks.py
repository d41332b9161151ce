"""tests/e2e/grouped.py, against a fake store: several requests under one
write check lose nothing a check per request would catch."""
from contextlib import contextmanager

import pytest

from tests.e2e.grouped import check_each


class FakeStore:
    """A store whose write check compares its documents before and after."""

    def __init__(self):
        self.documents = {}

    @contextmanager
    def nothing_written(self):
        before = dict(self.documents)
        yield
        changed = sorted(key for key in before.keys() | self.documents.keys()
                         if before.get(key) != self.documents.get(key))
        assert changed == [], "written: %s" % changed


def test_a_group_that_writes_nothing_and_answers_right_passes():
    store, seen = FakeStore(), []
    check_each(["a", "b", "c"], seen.append, store.nothing_written)
    assert seen == ["a", "b", "c"]


def test_every_case_is_checked_and_every_failure_named():
    store, seen = FakeStore(), []

    def check(case):
        seen.append(case)
        assert case != "b" and case != "d", "wrong answer to %s" % case
    with pytest.raises(AssertionError) as failed:
        check_each(["a", "b", "c", "d"], check, store.nothing_written)
    assert seen == ["a", "b", "c", "d"]
    message = str(failed.value)
    assert "b: wrong answer to b" in message and "d: wrong answer to d" in message
    assert "a:" not in message and "c:" not in message and "wrote" not in message


# Each write happens again when its request is sent again, as a real one would.
WRITES = {
    "insert": lambda documents: documents.__setitem__("new-%d" % len(documents), 1),
    "update": lambda documents: documents.__setitem__("kept", documents["kept"] + 1),
    "delete": lambda documents: documents.pop(min(key for key in documents
                                                  if key.startswith("doomed"))),
}


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_by_one_case_fails_the_group_and_names_that_case(kind):
    store = FakeStore()
    store.documents.update({"kept": 1, "doomed-1": 1, "doomed-2": 1})

    def check(case):
        if case == 2:
            WRITES[kind](store.documents)
    with pytest.raises(AssertionError) as failed:
        check_each([1, 2, 3], check, store.nothing_written, name=lambda case: "body %d" % case)
    message = str(failed.value)
    assert "the group wrote: written: [" in message
    assert "body 2, sent alone, wrote: written: [" in message
    assert "body 1, sent alone" not in message and "body 3, sent alone" not in message


def test_a_write_no_case_repeats_alone_is_still_a_failure():
    store, wrote = FakeStore(), []

    def check(case):
        if not wrote:
            wrote.append(case)
            store.documents["once"] = case
    with pytest.raises(AssertionError, match="no case wrote when sent alone"):
        check_each(["a", "b"], check, store.nothing_written)


def test_no_cases_is_a_mistake_not_a_pass():
    with pytest.raises(AssertionError, match="no cases"):
        check_each([], lambda case: None, FakeStore().nothing_written)
