"""The daily five-party briefing: plain Python, no framework.

A briefing is for one local date. It counts what happened in the 24 hours
before BRIEFING_TIME on that date (in BRIEFING_TZ), and lists what is still
open as it stands when the briefing is made (`generated_at`). Its sections:

1. `intake`: what came in, per source (sources.py) and category;
2. `parties`: per party, received, acknowledged or accepted, done and
   returned in the period, and what it is late on now with how late, worst first;
3. `red`: urgent cases, items past their limit, cases returned twice,
   reopened cases, allocation mismatches;
4. `pending`: registrations waiting at a party for more than 24 hours;
5. `kpis`: the last 7 days and the month to date, per party and in total;
6. `decisions`: what the joint meeting must decide, each naming one party.

Every item that is late or red names exactly one responsible party. No
item holds a full ID number or phone: a name, a masked ID, a flat, a case's
category and place. `identities_in` finds any that slipped in anyway; the
committee checks every briefing with it before it is stored or sent.
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.identity import mask_id
from shared.parties import ALL

from services.neighborhood_committee.sources import (ACTIONS, KPI_COUNTS, SOURCES, in_window,
                                                     late_tasks)

PENDING_HOURS = 24
# A mainland ID number (17 digits and a check digit) or mobile number
# standing alone: not part of a longer run of digits.
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


class IdentityLeak(Exception):
    """A briefing would hold a full ID number or phone: never stored or sent."""


# --- when ---------------------------------------------------------------------

def moment(day, at, zone):
    """`at` o'clock on `day` in `zone`, in UTC (as every stored time is)."""
    return datetime.combine(day, at, ZoneInfo(zone)).astimezone(timezone.utc)


def period(day, at, zone):
    """The 24 hours a briefing for `day` counts: up to `at` on `day`."""
    end = moment(day, at, zone)
    return end - timedelta(hours=24), end


def due_date(now, at, zone):
    """The latest date whose briefing time has passed at `now`: today's once
    `at` has passed locally, else yesterday's. The timer makes this one if
    it is missing, so a day missed while the committee was down is made up
    once, when it is back (an older missed day only by POST)."""
    local = now.astimezone(ZoneInfo(zone))
    today = local.date()
    return today if local.timetz().replace(tzinfo=None) >= at else today - timedelta(days=1)


def local_today(now, zone):
    return now.astimezone(ZoneInfo(zone)).date()


def month_start(day, zone):
    return moment(day.replace(day=1), time(), zone)


# --- the sections ---------------------------------------------------------------

def intake(documents, start, end):
    section = {}
    for source in SOURCES:
        by_category = {}
        for doc in documents[source.name]:
            if in_window(source, doc, start, end):
                category = source.category(doc)
                by_category[category] = by_category.get(category, 0) + 1
        section[source.name] = {"total": sum(by_category.values()),
                                "by_category": dict(sorted(by_category.items()))}
    return section


def scrub(text):
    """Text with any full ID number or mobile number in it masked (a
    case's place is typed by people, and people type phone numbers)."""
    text = ID_NUMBER.sub(lambda found: mask_id(found.group(0)), text)
    return MOBILE.sub(lambda found: found.group(0)[:3] + "****" + found.group(0)[-4:], text)


def item_of(source, doc, party, **fields):
    item = {"source": source.name, "id": doc["_id"], "party": party}
    item.update(source.describe(doc))
    item.update(fields)
    return {key: scrub(value) if isinstance(value, str) else value for key, value in item.items()}


def late_seconds_of(task, now):
    return max(0, int((now - task["due_at"]).total_seconds()))


def overdue_items(documents, now):
    """One item per party late on an open item, worst first."""
    items = []
    for source in SOURCES:
        for doc in documents[source.name]:
            for party, task in late_tasks(source, doc, now):
                items.append(item_of(source, doc, party, due_kind=task["due_kind"],
                                   due_at=task["due_at"], late_seconds=late_seconds_of(task, now)))
    return sorted(items, key=lambda item: (-item["late_seconds"], item["party"], item["id"]))


def parties(documents, start, end, overdue):
    rows = {party: dict(dict.fromkeys(ACTIONS, 0),
                        by_source={source.name: dict.fromkeys(ACTIONS, 0) for source in SOURCES})
            for party in ALL}
    for source in SOURCES:
        for doc in documents[source.name]:
            for party, what, at in source.actions(doc):
                if start <= at < end:
                    rows[party]["by_source"][source.name][what] += 1
                    rows[party][what] += 1
    for party, row in rows.items():
        row["overdue"] = [item for item in overdue if item["party"] == party]
        row["overdue_count"] = len(row["overdue"])
        row["worst_late_seconds"] = row["overdue"][0]["late_seconds"] if row["overdue"] else 0
    return rows


def red_items(documents, start, end, now, overdue):
    items = [dict(item, kind="overdue") for item in overdue]
    for source in SOURCES:
        for doc in documents[source.name]:
            if not (source.is_open(doc) or in_window(source, doc, start, end)):
                continue
            for kind, party, detail in source.red(doc, now):
                items.append(item_of(source, doc, party, kind=kind, detail=detail))
    order = {"overdue": 0, "urgent": 1, "returned_twice": 2, "reopened": 3, "mismatch": 4}
    return sorted(items, key=lambda item: (order.get(item["kind"], 9), -item.get("late_seconds", 0),
                                           item["party"], item["id"]))


def pending(documents, now):
    """Items of a pending-check source waiting at a party for over 24 hours."""
    items = []
    for source in SOURCES:
        if not source.pending_check:
            continue
        for doc in documents[source.name]:
            if not source.is_open(doc):
                continue
            for party, task in source.task_items(doc):
                waited = now - source.received_at(doc, task)
                if not task["done"] and waited > timedelta(hours=PENDING_HOURS):
                    items.append(item_of(source, doc, party, status=task["status"],
                                       pending_hours=round(waited.total_seconds() / 3600, 1)))
    return sorted(items, key=lambda item: (-item["pending_hours"], item["party"], item["id"]))


def decisions(documents, now, overdue):
    found, seen = [], set()

    def add(source, doc, party, topic, reason):
        if (source.name, doc["_id"], party) not in seen:
            seen.add((source.name, doc["_id"], party))
            found.append(item_of(source, doc, party, topic=topic, reason=reason))
    for source in SOURCES:
        for doc in documents[source.name]:
            for party, topic, reason in source.decisions(doc, now):
                add(source, doc, party, topic, reason)
    by_id = {(source.name, doc["_id"]): (source, doc)
             for source in SOURCES for doc in documents[source.name]}
    for item in overdue:
        if item["late_seconds"] >= PENDING_HOURS * 3600:
            source, doc = by_id[(item["source"], item["id"])]
            add(source, doc, item["party"], "long_overdue",
                "more than a day past its %s limit: what stops it" % item["due_kind"])
    return found


# --- KPIs -----------------------------------------------------------------------

def rate(part, whole):
    return round(part / whole, 4) if whole else None


def rated(row):
    return dict(row,
                response_rate=rate(row["responded_on_time"], row["received"]),
                on_time_rate=rate(row["finished_on_time"], row["finished"]),
                resolution_rate=rate(row["finished"], row["received"]),
                satisfaction_rate=rate(row["satisfied"], row["rated"]))


def kpis(documents_between, start, end):
    """Per party and in total over the items that came in between `start`
    and `end`: response (acknowledged or accepted in time), on time (done
    within its limit), resolution (done of received) and satisfaction
    (satisfied of rated call-backs). Each source counts its own way
    (Source.kpi_counts: cases through the case KPIs of cases.py)."""
    rows = {party: dict.fromkeys(KPI_COUNTS, 0) for party in ALL}
    for source in SOURCES:
        docs = [doc for doc in documents_between[source.name] if in_window(source, doc, start, end)]
        for party, counts in source.kpi_counts(docs).items():
            for name in KPI_COUNTS:
                rows.setdefault(party, dict.fromkeys(KPI_COUNTS, 0))[name] += counts[name]
    total = {name: sum(row[name] for row in rows.values()) for name in KPI_COUNTS}
    return {"from": start, "to": end, "parties": {party: rated(row) for party, row in rows.items()},
            "total": rated(total)}


# --- the whole briefing -----------------------------------------------------------

def build(day, at, zone, now, current, history):
    """The briefing for `day`. `current`: per source, the open items and
    those that came in or finished in the period; `history`: per source,
    the items that came in since the earlier of the month's start and 7
    days before the period's end (for the KPIs)."""
    start, end = period(day, at, zone)
    overdue = overdue_items(current, now)
    week = kpis(history, end - timedelta(days=7), end)
    month = kpis(history, month_start(day, zone), end)
    briefing = {
        "_id": day.isoformat(), "date": day.isoformat(), "time_zone": zone,
        "period": {"from": start, "to": end}, "generated_at": now,
        "intake": intake(current, start, end),
        "parties": parties(current, start, end, overdue),
        "red": red_items(current, start, end, now, overdue),
        "pending": pending(current, now),
        "kpis": {"last_7_days": week, "month_to_date": month},
        "decisions": decisions(current, now, overdue),
    }
    leaks = identities_in(briefing)
    if leaks:
        raise IdentityLeak("briefing %s would hold %d full identities" % (day, len(leaks)))
    return briefing


def history_start(day, at, zone):
    end = moment(day, at, zone)
    return min(end - timedelta(days=7), month_start(day, zone))


def part_for(briefing, party):
    """What one party is told of a briefing: its own counts and lists, the
    intake totals and its KPIs; nothing about another party's items."""
    mine = [item for item in briefing["red"] if item["party"] == party]
    return {
        "briefing_date": briefing["date"], "party": party, "time_zone": briefing["time_zone"],
        "period": briefing["period"], "generated_at": briefing["generated_at"],
        "intake": {name: {"total": section["total"]} for name, section in briefing["intake"].items()},
        "counts": {name: value for name, value in briefing["parties"][party].items()
                   if name not in ("overdue",)},
        "overdue": briefing["parties"][party]["overdue"],
        "red": mine,
        "pending": [item for item in briefing["pending"] if item["party"] == party],
        "decisions": [item for item in briefing["decisions"] if item["party"] == party],
        "kpis": {window: {"from": section["from"], "to": section["to"],
                          "party": section["parties"][party]}
                 for window, section in briefing["kpis"].items()},
    }


# --- no identities ------------------------------------------------------------------

def identities_in(value, path="$"):
    """Every full ID number or mobile number in `value` (any nesting of
    dicts, lists and text), as (path, kind)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += identities_in(str(key), "%s{key}" % path)
            found += identities_in(item, "%s.%s" % (path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += identities_in(item, "%s[%d]" % (path, index))
    elif isinstance(value, str):
        found += [(path, "id_number") for _ in ID_NUMBER.finditer(value)]
        found += [(path, "phone") for _ in MOBILE.finditer(value)]
    elif isinstance(value, (date, datetime)):
        pass
    return found
