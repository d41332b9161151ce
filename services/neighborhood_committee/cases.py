"""A community case as the committee sees it: plain Python, no framework.

Filed from a report, dispatched by the routing table to the party that owns
it (and its co-handlers), accepted or returned by each, resolved, verified
by the committee and closed, then evaluated by the resident. Each party's
assignment is a task of the joint-work pattern (shared/joint.py): first an
accept limit runs, then a resolve limit; rework starts a fresh resolve limit
and a new round. Events from the parties may come in any order and more
than once: an event of another round, or one that is not news, changes
nothing.

Every function here changes the case it is given (a copy the repository
made) and returns the messages to send: (event type, payload) pairs; a
party's event that is stale returns None and changes nothing.
"""
from datetime import timedelta

from shared import joint
from shared.parties import COMMITTEE

ACTIVE = ("dispatched", "accepted", "resolved")
COUNTS = ("dispatched", "accepted", "accepted_on_time", "resolved", "resolved_on_time",
          "returned", "reworked", "overdue_accept", "overdue_resolve")


class Rejected(Exception):
    """What the case's state does not allow now (the API answers 409)."""


def new_case(case_id, report, reported_by, user, now, table):
    route = table.route(report["category"])
    safety_risk = report.get("safety_risk", False)
    case = {
        "_id": case_id,
        "category": report["category"],
        "description": report["description"],
        "location": report["location"],
        "source": report["source"],
        "reporter": report.get("reporter"),
        "safety_risk": safety_risk,
        "detection": report.get("detection"),
        "reported_by": reported_by,
        "reported_by_user": user,
        "reported_at": report.get("reported_at") or now,
        "filed_at": now,
        "priority": route.priority_for(safety_risk),
        "status": "filed",
        "escalated": False,
        "escalations": [],
        "returns": 0,
        "reworks": 0,
        "reopened": 0,
        "assignments": {},
        "verifications": [],
        "feedback": [],
        "closures": 0,
        "closed_at": None,
        "timeline": [],
        "next_due_at": None,
        "announced": {"status": "filed", "escalated": False},
    }
    _log(case, case["reported_at"], reported_by, "reported", user)
    messages = dispatch(case, route.assignees(safety_risk), now, table, by="routing table")
    return case, messages


def dispatch(case, parties, now, table, by, priority=None, note=None):
    """Assign the case to `parties` (the first one owns it): each party not
    already working on it gets a new round; a party working on it that is
    not named any more is withdrawn."""
    if case["closed_at"] is not None:
        raise Rejected("case %s is closed" % case["_id"])
    if priority:
        case["priority"] = priority
    accept_s, resolve_s = table.limits[case["priority"]]
    messages = []
    for party, task in case["assignments"].items():
        if party not in parties and task["status"] in ("dispatched", "accepted"):
            joint.finish(task, "withdrawn", now)
            messages.append(("case_withdrawn", {"case_id": case["_id"], "party": party,
                                                "round": task["round"], "at": now, "note": note}))
            _log(case, now, party, "withdrawn", by, note)
    for index, party in enumerate(parties):
        earlier = case["assignments"].get(party)
        if earlier and earlier["status"] in ACTIVE:
            continue
        task = joint.new_task(
            now, accept_s, due_kind="accept", status="dispatched",
            role="owner" if index == 0 else "co_handler",
            round=(earlier["round"] + 1) if earlier else 1,
            priority=case["priority"], accept_seconds=accept_s, resolve_seconds=resolve_s,
            dispatched_at=now, accept_due=now + timedelta(seconds=accept_s),
            resolve_due=now + timedelta(seconds=resolve_s),
            escalate_at=now + timedelta(seconds=2 * resolve_s),
            accepted_at=None, accepted_by=None, resolved_at=None, resolved_by=None,
            resolution_note=None, returned_at=None, return_reason=None,
            counts=dict(earlier["counts"]) if earlier else dict.fromkeys(COUNTS, 0))
        task["counts"]["dispatched"] += 1
        case["assignments"][party] = task
        messages.append(("case_dispatched", _dispatched(case, party, task)))
        _log(case, now, party, "dispatched", by, note)
    return messages + refresh(case, now)


def _dispatched(case, party, task):
    return {
        "case_id": case["_id"], "party": party, "role": task["role"], "round": task["round"],
        "category": case["category"], "description": case["description"],
        "location": case["location"], "source": case["source"], "priority": task["priority"],
        "safety_risk": case["safety_risk"], "reporter": case["reporter"],
        "reported_by": case["reported_by"], "dispatched_at": task["dispatched_at"],
        "accept_due": task["accept_due"], "resolve_due": task["resolve_due"],
    }


def _current(case, payload, *statuses):
    """The party's task if the event is about its current round and the
    task is in one of `statuses`; None when the event is stale."""
    task = case["assignments"].get(payload["party"])
    if task is None or task["round"] != payload["round"] or task["status"] not in statuses:
        return None
    return task


def _accept(task, at, by):
    on_time = at <= task["accept_due"]
    task.update(status="accepted", accepted_at=at, accepted_by=by)
    task["acknowledged_at"] = task["acknowledged_at"] or at
    task["counts"]["accepted"] += 1
    task["counts"]["accepted_on_time"] += int(on_time)
    joint.start_limit(task, "resolve", task["resolve_due"])


def record_accepted(case, payload, now):
    task = _current(case, payload, "dispatched")
    if task is None:
        return None
    _accept(task, payload["at"], payload["by"])
    _log(case, payload["at"], payload["party"], "accepted", payload["by"], payload.get("note"))
    return refresh(case, now)


def record_returned(case, payload, now):
    task = _current(case, payload, "dispatched")
    if task is None:
        return None
    joint.finish(task, "returned", payload["at"])
    task.update(returned_at=payload["at"], return_reason=payload["reason"])
    task["counts"]["returned"] += 1
    case["returns"] += 1
    _log(case, payload["at"], payload["party"], "returned", payload["by"], payload["reason"])
    if case["returns"] >= 2:
        _escalate(case, now, "returned_twice", payload["party"])
    return refresh(case, now)


def record_resolved(case, payload, now):
    task = _current(case, payload, "dispatched", "accepted")
    if task is None:
        return None
    if task["status"] == "dispatched":  # the acceptance is still on its way (another queue)
        _accept(task, payload["accepted_at"], payload["by"])
    on_time = payload["at"] <= task["resolve_due"]
    joint.finish(task, "resolved", payload["at"])
    task.update(resolved_at=payload["at"], resolved_by=payload["by"], resolution_note=payload["note"])
    task["counts"]["resolved"] += 1
    task["counts"]["resolved_on_time"] += int(on_time)
    _log(case, payload["at"], payload["party"], "resolved", payload["by"], payload["note"])
    return refresh(case, now)


def record_detections(case, payload):
    detection = case.get("detection")
    if detection is None or payload["count"] <= detection["count"]:
        return False
    detection["count"] = payload["count"]
    detection["last_detected_at"] = max(detection["last_detected_at"], payload["last_detected_at"])
    return True


def verify(case, outcome, note, user, now, table):
    if case["status"] != "resolved":
        raise Rejected("case %s is %s; only a resolved case is verified" % (case["_id"], case["status"]))
    own = case["assignments"].get(COMMITTEE)
    if own and own["status"] == "resolved" and own["resolved_by"] == user:
        raise Rejected("%s resolved the committee's part; someone else must verify it" % user)
    case["verifications"].append({"outcome": outcome, "note": note, "by": user, "at": now})
    _log(case, now, COMMITTEE, "verified: %s" % outcome, user, note)
    if outcome == "rework":
        return _rework(case, now, table, "verification", note)
    case.update(closed_at=now, closures=case["closures"] + 1)
    return refresh(case, now)


def feedback(case, body, user, now, table, reopen_days):
    if case["closed_at"] is None:
        raise Rejected("case %s is %s; feedback follows closure" % (case["_id"], case["status"]))
    if any(item["closure"] == case["closures"] for item in case["feedback"]):
        raise Rejected("the call-back for this closure of case %s is recorded" % case["_id"])
    case["feedback"].append(dict(body, by=user, at=now, closure=case["closures"]))
    _log(case, now, COMMITTEE, "feedback: %s" % body["satisfaction"], user, body.get("note"))
    within = now - case["closed_at"] <= timedelta(days=reopen_days)
    if body["satisfaction"] == "unsatisfied" and not body["resolved"] and within:
        case["closed_at"] = None
        case["reopened"] += 1
        _escalate(case, now, "reopened", None)
        return _rework(case, now, table, "feedback", body.get("note") or "resident unsatisfied")
    return refresh(case, now)


def _rework(case, now, table, reason, note):
    messages = []
    for party, task in case["assignments"].items():
        if task["status"] != "resolved":
            continue
        resolve_s = table.limits[task["priority"]][1]
        due = now + timedelta(seconds=resolve_s)
        task.update(status="accepted", round=task["round"] + 1, resolve_due=due,
                    escalate_at=now + timedelta(seconds=2 * resolve_s), resolved_at=None)
        joint.start_limit(task, "resolve", due)
        task["counts"]["reworked"] += 1
        case["reworks"] += 1
        messages.append(("case_rework_requested", {
            "case_id": case["_id"], "party": party, "round": task["round"], "reason": reason,
            "note": note, "resolve_due": due, "at": now}))
        _log(case, now, party, "rework", COMMITTEE, note)
    return messages + refresh(case, now)


def mark_due(case, now):
    """Mark each party past its running limit, once per limit; escalate a
    case a party has held past twice its resolve limit."""
    messages = []
    for party in joint.to_mark(case["assignments"], now):
        task = case["assignments"][party]
        limit = task["due_kind"]
        joint.mark(task, now)
        task["counts"]["overdue_%s" % limit] += 1
        messages.append(("case_overdue", {"case_id": case["_id"], "party": party,
                                          "round": task["round"], "limit": limit,
                                          "due_at": task["due_at"], "detected_at": now}))
        _log(case, now, party, "overdue: %s" % limit, COMMITTEE)
    for party, task in case["assignments"].items():
        if not task["done"] and task["escalate_at"] <= now:
            _escalate(case, now, "past_twice_limit", party)
    return messages + refresh(case, now)


def _escalated_for(case, reason):
    return any(item["reason"] == reason for item in case["escalations"])


def _escalate(case, now, reason, party):
    if reason != "reopened" and _escalated_for(case, reason):
        return  # once per reason; each reopening is an escalation of its own
    case["escalations"].append({"reason": reason, "party": party, "at": now})
    case["escalated"] = True
    _log(case, now, party or COMMITTEE, "escalated: %s" % reason, COMMITTEE)


def status_of(case):
    if case["closed_at"] is not None:
        return "closed"
    active = [task for task in case["assignments"].values() if task["status"] in ACTIVE]
    if not active:
        return "filed"  # every party returned it: the committee must dispatch it again
    if all(task["status"] == "resolved" for task in active):
        return "resolved"
    if any(task["status"] != "dispatched" for task in active):
        return "in_progress"
    return "dispatched"


def refresh(case, now):
    """Derive the status and the next due time; tell the reporting party and
    the parties on the case when the status (or the escalation) changed."""
    case["status"] = status_of(case)
    due = [joint.next_due_at(case["assignments"])]
    if not _escalated_for(case, "past_twice_limit"):
        due += [task["escalate_at"] for task in case["assignments"].values() if not task["done"]]
    due = [moment for moment in due if moment is not None]
    case["next_due_at"] = min(due) if case["closed_at"] is None and due else None
    news = {"status": case["status"], "escalated": case["escalated"]}
    if news == case["announced"]:
        return []
    case["announced"] = news
    recipients = {party for party, task in case["assignments"].items() if task["status"] in ACTIVE}
    if case["reported_by"] != COMMITTEE:
        recipients.add(case["reported_by"])
    return [("case_status_changed", {"case_id": case["_id"], "party": party, "status": case["status"],
                                     "escalated": case["escalated"], "at": now})
            for party in sorted(recipients)]


def _log(case, at, party, action, by=None, note=None):
    case["timeline"].append({"at": at, "party": party, "action": action, "by": by, "note": note})


def overdue_parties(case, now):
    """Parties past a limit now (marked or not), for the overdue list."""
    return sorted(party for party, task in case["assignments"].items()
                  if task["overdue"] or joint.late(task, now))


def kpis(cases, parties):
    """Per party and in total: the counts and rates of the 12345 practice."""
    rows = {party: dict.fromkeys(COUNTS + ("rated", "satisfied", "reopened"), 0) for party in parties}
    for case in cases:
        rating = case["feedback"][-1] if case["feedback"] else None
        for party, task in case["assignments"].items():
            row = rows.setdefault(party, dict.fromkeys(COUNTS + ("rated", "satisfied", "reopened"), 0))
            for name in COUNTS:
                row[name] += task["counts"][name]
            if task["counts"]["resolved"]:
                row["reopened"] += case["reopened"]
                if rating is not None:
                    row["rated"] += 1
                    row["satisfied"] += rating["satisfaction"] != "unsatisfied"
    total = {name: sum(row[name] for row in rows.values()) for name in next(iter(rows.values()))}
    return {"parties": {party: _rates(row) for party, row in rows.items()}, "total": _rates(total)}


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def _rates(row):
    return dict(row,
                response_rate=_rate(row["accepted_on_time"], row["dispatched"]),
                on_time_resolution_rate=_rate(row["resolved_on_time"], row["resolved"]),
                return_rate=_rate(row["returned"], row["dispatched"]),
                satisfaction_rate=_rate(row["satisfied"], row["rated"]))
