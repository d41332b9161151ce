"""The joint-work pattern the returnee linkage and the cases share."""
from datetime import datetime, timedelta, timezone

from shared import joint

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def test_a_task_is_marked_once_per_limit_and_a_new_limit_clears_the_mark():
    tasks = {"a": joint.new_task(T0, 60, due_kind="accept"), "b": joint.new_task(T0, 600)}
    assert joint.next_due_at(tasks) == T0 + timedelta(seconds=60)
    later = T0 + timedelta(seconds=61)
    assert joint.to_mark(tasks, later) == ["a"]
    joint.mark(tasks["a"], later)
    assert joint.to_mark(tasks, later) == [] and joint.late(tasks["a"], later)
    assert joint.next_due_at(tasks) == T0 + timedelta(seconds=600)
    joint.start_limit(tasks["a"], "resolve", T0 + timedelta(seconds=120))
    assert tasks["a"]["overdue"] is False and joint.to_mark(tasks, later) == []
    assert joint.to_mark(tasks, T0 + timedelta(seconds=121)) == ["a"]


def test_the_mark_guard_names_the_limit_it_was_computed_for():
    task = joint.new_task(T0, 60)
    guard = joint.mark_guard("parties.x", task)
    assert guard == {"parties.x.overdue": False, "parties.x.due_at": task["due_at"],
                     "parties.x.done": False}


def test_done_tasks_are_never_late_and_close_the_work_together():
    tasks = {"a": joint.new_task(T0, 60), "b": joint.new_task(T0, 60)}
    joint.finish(tasks["a"], "cleared", T0)
    assert tasks["a"]["acknowledged_at"] == T0
    assert not joint.all_done(tasks)
    assert joint.to_mark(tasks, T0 + timedelta(hours=1)) == ["b"]
    joint.finish(tasks["b"], "issued", T0)
    assert joint.all_done(tasks) and joint.next_due_at(tasks) is None
