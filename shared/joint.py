"""Work that one party opens at others, each party with a time limit, closed
jointly: the pattern a returnee linkage and a community case share.

Plain Python, no framework. The opening party keeps one document with a
task per party (`tasks`: party -> dict). A task's fields:

- `status`: what the party says it is doing (each flow names its own);
- `done` / `done_at`: the party has finished its part (nothing more is due);
- `acknowledged_at`: the party has seen the task;
- `due_at` / `due_kind`: the limit running now and which one it is (a
  linkage has one, `act`; a case has `accept`, then `resolve`);
- `overdue` / `overdue_at`: the running limit passed and the party was told.
  A new limit (a case accepted, or sent back for rework) clears the mark, so
  a party is marked once per limit, never twice for the same one.

The document's `next_due_at` is the earliest limit still running and not yet
marked, so a timer finds what is due by that key instead of reading every
open document.
"""
from datetime import timedelta


def new_task(now, seconds, due_kind="act", status="awaiting", **fields):
    task = {
        "status": status,
        "done": False,
        "acknowledged_at": None,
        "done_at": None,
        "due_at": now + timedelta(seconds=seconds),
        "due_kind": due_kind,
        "overdue": False,
        "overdue_at": None,
    }
    task.update(fields)
    return task


def finish(task, status, now):
    """The party has done its part: no limit runs any more."""
    task.update(status=status, done=True, done_at=now)
    if task["acknowledged_at"] is None:
        task["acknowledged_at"] = now


def start_limit(task, due_kind, due_at):
    """A new limit runs for the party (and it has not passed it yet)."""
    task.update(due_kind=due_kind, due_at=due_at, overdue=False, overdue_at=None,
                done=False, done_at=None)


def late(task, now):
    """Past its running limit and not done (whether or not marked yet)."""
    return not task["done"] and task["due_at"] is not None and task["due_at"] <= now


def to_mark(tasks, now):
    """The parties past their running limit that have not been marked for it."""
    return [party for party, task in tasks.items() if late(task, now) and not task["overdue"]]


def mark(task, now):
    task.update(overdue=True, overdue_at=now)


def mark_guard(path, task):
    """The write guard that marks a task once per limit: still unmarked, and
    still the limit the mark was computed for."""
    return {"%s.overdue" % path: False, "%s.due_at" % path: task["due_at"],
            "%s.done" % path: False}


def next_due_at(tasks):
    running = [task["due_at"] for task in tasks.values()
               if not task["done"] and not task["overdue"] and task["due_at"] is not None]
    return min(running) if running else None


def all_done(tasks):
    return all(task["done"] for task in tasks.values())
