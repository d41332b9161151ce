"""A trace of one linkage or case across the five parties, as the
committee puts it together: plain Python, no framework.

The committee holds the subject (a returnee's linkage, a case: `KINDS`,
which a new kind of joint work joins with one entry) and each party sends
its part (shared/trace.py): its records' state and actions, its journal of
the events it published and handled, and its dead letters. `assemble`
makes of them the timeline, each event with its producer, when it was
published and when each consumer handled it, the retries and dead letters;
and on top the answer staff ask for: who holds it now, since when, and
what it is waiting for (`holding`).
"""
from dataclasses import dataclass
from typing import Callable

from shared import clock
from shared.catalogue import CATALOGUE
from shared.identity import mask_id
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.retention import deidentified_name

ANSWERED, UNREACHABLE = "answered", "unreachable"

# What a linkage waits for while a party's task has this status, and whose
# action that is.
LINKAGE_WAITS = {
    (POLICE, "awaiting"): ("the police to open the identity and risk check", POLICE),
    (POLICE, "pending"): ("the police's decision on the identity and risk check: clear or flag", POLICE),
    (PROPERTY, "awaiting"): ("the property company to hold the gate pass and tell the steward", PROPERTY),
    (PROPERTY, "held"): ("the police's decision: the gate pass is held until then", POLICE),
    (FLOATING, "awaiting"): ("the floating-population office to register the non-local arrival",
                             FLOATING),
    (DEVELOPER, "awaiting"): ("the developer to check the flat against its allocations", DEVELOPER),
}
CASE_WAITS = {
    "dispatched": "%s to accept the case (or return it, with a reason)",
    "accepted": "%s to resolve the case",
}


def _holder(party, since, waiting_for, waits_on, task=None):
    task = task or {}
    return {"party": party, "since": since, "waiting_for": waiting_for, "waits_on": waits_on,
            "status": task.get("status"), "due_at": task.get("due_at"),
            "due_kind": task.get("due_kind"), "overdue": bool(task.get("overdue")),
            "overdue_since": task.get("overdue_at")}


def linkage_holders(linkage):
    if linkage["status"] != "open":
        return []
    holders = []
    for party, task in linkage["parties"].items():
        if task["done"]:
            continue
        waiting_for, waits_on = LINKAGE_WAITS.get(
            (party, task["status"]), ("%s to act (%s)" % (party, task["status"]), party))
        holders.append(_holder(party, task.get("acknowledged_at") or linkage["registered_at"],
                               waiting_for, waits_on, task))
    return holders


def case_holders(case):
    if case["status"] == "closed":
        return []
    if case["status"] == "resolved":
        resolved = [task["resolved_at"] for task in case["assignments"].values()
                    if task.get("resolved_at")]
        return [_holder(COMMITTEE, max(resolved) if resolved else case["filed_at"],
                        "the committee to verify the resolution on site", COMMITTEE)]
    holders = []
    for party, task in case["assignments"].items():
        if task["status"] in CASE_WAITS:
            since = task["accepted_at"] if task["status"] == "accepted" else task["dispatched_at"]
            holders.append(_holder(party, since, CASE_WAITS[task["status"]] % party, party, task))
    if not holders:  # filed, or every party returned it
        returned = [task["returned_at"] for task in case["assignments"].values()
                    if task.get("returned_at")]
        holders.append(_holder(COMMITTEE, max(returned) if returned else case["filed_at"],
                               "the committee to dispatch it" + (" again (returned)" if returned else ""),
                               COMMITTEE))
    return holders


def returnee_subject(linkage):
    address = linkage.get("address") or {}
    return {"name": linkage["name"], "id_masked": _masked(linkage.get("id_number")),
            "flat": "-".join(str(address.get(part, "")) for part in ("building", "unit", "room")),
            "status": linkage["status"], "opened_at": _iso(linkage["registered_at"]),
            "closed_at": _iso(linkage.get("closed_at"))}


def case_subject(case):
    location = case.get("location") or {}
    return {"category": case["category"], "priority": case.get("priority"), "status": case["status"],
            "location": ", ".join(str(location[key]) for key in ("building", "unit", "spot")
                                  if location.get(key)),
            "reported_by": case.get("reported_by"), "opened_at": _iso(case.get("reported_at")),
            "closed_at": _iso(case.get("closed_at"))}


def _masked(id_number):
    if not id_number:
        return None
    return id_number if "*" in id_number else mask_id(id_number.upper())


def linkage_actions(linkage):
    """The committee's own actions on a linkage, and the overdue marks it made."""
    actions = [{"at": linkage["registered_at"], "party": COMMITTEE, "action": "registered",
                "by": linkage.get("registered_by")}]
    if linkage.get("dispatched_at"):
        actions.append({"at": linkage["dispatched_at"], "party": COMMITTEE,
                        "action": "every party acknowledged", "by": None})
    actions += _overdue_marks(linkage["parties"])
    if linkage.get("closed_at"):
        actions.append({"at": linkage["closed_at"], "party": COMMITTEE, "action": "closed", "by": None})
    return actions


def case_actions(case):
    """The case's timeline as the committee keeps it (actions and who, not notes)."""
    actions = [{"at": entry["at"], "party": entry["party"], "action": entry["action"],
                "by": entry.get("by")} for entry in case.get("timeline", ())]
    return actions + _overdue_marks(case["assignments"])


def _overdue_marks(tasks):
    """The committee's timer marking a party late, once per limit."""
    return [{"at": task["overdue_at"], "party": party, "action": "marked overdue",
             "by": "the committee's timer",
             "detail": "%s limit %s" % (task.get("due_kind") or "act", _iso(task["due_at"]))}
            for party, task in tasks.items() if task.get("overdue_at")]


def _iso(moment):
    return clock.isoformat(moment) if hasattr(moment, "isoformat") else moment


@dataclass(frozen=True)
class Kind:
    """What the committee traces: `store` and `collection` find the subject
    by its id; `subject` says what it is (as the committee may see it),
    `holders` who holds it, `actions` the committee's own."""
    name: str
    store: str
    collection: str
    subject: Callable
    holders: Callable
    actions: Callable


KINDS = [
    Kind("returnee", "linkages", "linkages", returnee_subject, linkage_holders, linkage_actions),
    Kind("case", "cases", "cases", case_subject, case_holders, case_actions),
]


def consumers_of(event_type, routing_key):
    """Who should handle an event: its catalogue consumers, or the one
    party an addressed event was routed to."""
    try:
        spec = CATALOGUE.spec(event_type)
    except KeyError:
        return []
    if spec.addressed_by:  # to one party, which its routing key names (unknown unpublished)
        return [routing_key.rsplit(".", 1)[1]] if routing_key and "." in routing_key else []
    return list(spec.consumers)


def events_of(parts):
    """Every event the parties' journals name, with its producer, when it
    was published and, for each consumer, when it was handled, retried or
    dead-lettered ("unreachable" when that party did not answer)."""
    events = {}
    for party, part in parts.items():
        for note in (part or {}).get("notes", ()):
            event = events.setdefault(note["event_id"], {
                "event_id": note["event_id"], "event_type": note["event_type"],
                "producer": note["producer"], "occurred_at": note["occurred_at"],
                "published_at": None, "routing_key": None, "consumers": {}})
            if note["kind"] == "published":
                event.update(published_at=note["at"], routing_key=note.get("routing_key"))
                continue
            consumer = event["consumers"].setdefault(party, {
                "party": party, "status": None, "handled_at": None, "attempts": 0, "retries": [],
                "dead_lettered_at": None})
            consumer["attempts"] = max(consumer["attempts"], note.get("attempt") or 1)
            if note["kind"] == "handled":
                consumer.update(status="handled", handled_at=note["at"])
            elif note["kind"] == "retried":
                consumer["retries"].append({"attempt": note.get("attempt"), "at": note["at"],
                                            "error": note.get("error")})
                consumer["status"] = consumer["status"] or "retrying"
            else:
                consumer.update(status=consumer["status"] if consumer["status"] == "handled"
                                else "dead_lettered", dead_lettered_at=note["at"])
    for event in events.values():
        for party in consumers_of(event["event_type"], event["routing_key"]):
            if party not in event["consumers"]:
                event["consumers"][party] = {
                    "party": party, "handled_at": None, "attempts": 0, "retries": [],
                    "dead_lettered_at": None,
                    "status": "waiting" if parts.get(party) is not None else UNREACHABLE}
        event["consumers"] = sorted(event["consumers"].values(), key=lambda c: ALL.index(c["party"])
                                    if c["party"] in ALL else len(ALL))
    return sorted(events.values(), key=lambda e: (e["occurred_at"] or "", e["event_id"]))


def timeline_of(kind, subject_doc, parts, events):
    """Every step, oldest first: the committee's and each party's actions,
    each event's publication and each consumer's handling, retries and
    dead letters."""
    steps = [dict(action, source="action") for action in kind.actions(subject_doc)]
    for party, part in parts.items():
        for record in (part or {}).get("records", ()):
            if party == COMMITTEE and record["record"] == kind.collection:
                continue  # the committee's own actions on it, above
            steps += [{"at": action["at"], "party": party, "action": action["action"],
                       "by": action["by"], "record": record["record"], "source": "action"}
                      for action in record["actions"]]
    steps = _once(steps)
    for event in events:
        if event["published_at"] is not None:
            steps.append({"at": event["published_at"], "party": event["producer"],
                          "action": "published %s" % event["event_type"], "by": None,
                          "verb": "published", "event_type": event["event_type"],
                          "event_id": event["event_id"], "source": "event"})
        for consumer in event["consumers"]:
            for retry in consumer["retries"]:
                steps.append({"at": retry["at"], "party": consumer["party"], "by": None,
                              "action": "retrying %s" % event["event_type"], "verb": "retried",
                              "detail": "attempt %s failed: %s" % (retry["attempt"], retry["error"]),
                              "event_type": event["event_type"],
                              "event_id": event["event_id"], "source": "retry"})
            if consumer["handled_at"] is not None:
                steps.append({"at": consumer["handled_at"], "party": consumer["party"], "by": None,
                              "action": "handled %s" % event["event_type"], "verb": "handled",
                              "event_type": event["event_type"],
                              "event_id": event["event_id"], "source": "event"})
            if consumer["dead_lettered_at"] is not None:
                steps.append({"at": consumer["dead_lettered_at"], "party": consumer["party"],
                              "by": None, "action": "dead-lettered %s" % event["event_type"],
                              "verb": "dead_lettered", "event_type": event["event_type"],
                              "event_id": event["event_id"], "source": "dead_letter"})
    return sorted(steps, key=lambda step: (step["at"], ALL.index(step["party"])
                                           if step["party"] in ALL else len(ALL)))


def _once(steps):
    """One step per (time, party, action): the committee's case timeline and
    a party's own records both say when that party accepted or resolved,
    and a party's assignment keeps the time its report was made."""
    kept = {}
    for step in steps:
        key = (step["at"], step["party"], step["action"])
        if key not in kept:
            kept[key] = step
        elif not kept[key].get("by"):
            kept[key]["by"] = step.get("by")
    return list(kept.values())


def holding_of(kind, subject_doc, dead_letters, now):
    """Who holds it now, since when, waiting for what: one line for the desk,
    and every party it waits on."""
    holders = kind.holders(subject_doc)
    # The party whose own action is awaited first: an overdue one, then the
    # earliest limit.
    holders.sort(key=lambda h: (h["waits_on"] != h["party"], not h["overdue"],
                                h["due_at"] is None, h["due_at"] or h["since"]))
    if not holders:
        closed = subject_doc.get("closed_at")
        summary = "closed%s: nobody holds it" % (" at %s" % _iso(closed) if closed else "")
    else:
        first = holders[0]
        summary = "%s holds it since %s, waiting for %s" % (first["party"], _iso(first["since"]),
                                                           first["waiting_for"])
        if first["due_at"] is not None:
            summary += "; %s limit %s%s" % (first["due_kind"] or "its", _iso(first["due_at"]),
                                            ", overdue" if first["overdue"] or first["due_at"] <= now
                                            else "")
    if dead_letters:
        summary += "; %d dead letter(s) of it, at %s" % (
            len(dead_letters), ", ".join(sorted({row["party"] for row in dead_letters})))
    return {"status": "open" if holders else "closed", "holder": holders[0]["party"] if holders else None,
            "since": holders[0]["since"] if holders else subject_doc.get("closed_at"),
            "waiting_for": holders[0]["waiting_for"] if holders else None,
            "holders": holders, "summary": summary}


def assemble(kind, subject_doc, parts, answered_at, now):
    """The trace: `parts` maps each party to its part (None: it did not
    answer in time), `answered_at` when each answered."""
    events = events_of(parts)
    dead_letters = [dict(row, party=party) for party, part in parts.items() if part
                    for row in part["dead_letters"]]
    retries = [{"event_id": event["event_id"], "event_type": event["event_type"],
                "party": consumer["party"], **retry}
               for event in events for consumer in event["consumers"] for retry in consumer["retries"]]
    return {
        "id": subject_doc["_id"], "kind": kind.name, "subject": kind.subject(subject_doc),
        "holding": holding_of(kind, subject_doc, dead_letters, now),
        "parties": [{"party": party, "status": ANSWERED if parts.get(party) is not None else UNREACHABLE,
                     "answered_at": answered_at.get(party),
                     "records": (parts.get(party) or {}).get("records", []),
                     "dead_letters_read": (parts.get(party) or {}).get("dead_letters_read", False)}
                    for party in ALL],
        "timeline": timeline_of(kind, subject_doc, parts, events),
        "events": events, "dead_letters": dead_letters, "retries": retries,
    }


def for_agency(trace):
    """A trace handed to another agency's tooling: the person's name
    shortened as de-identification writes it ("W. Fang"), the ID masked."""
    subject = dict(trace["subject"])
    if subject.get("name"):
        subject["name"] = deidentified_name(subject["name"])
    return dict(trace, subject=subject)
