"""The monthly joint-meeting report: plain Python over what the briefing
repository reads (briefing_repository.py).

- each party's KPIs for the month against the month before (the briefing's
  KPIs, briefing.py `kpis`, over the items that came in in each month);
- the categories and the places (buildings) that came back most, with
  their count the month before;
- the escalated items still open, each naming one party: a case escalated
  to the meeting (returned twice, reopened, held past twice its limit), a
  registration a party was marked late on;
- day by day: what came in per source, and per party the share of its
  parts finished that day that were finished within their limit (the
  print view's two charts, charts.py).

Months are local months in BRIEFING_TZ.
"""
from datetime import timedelta

from shared.parties import ALL, COMMITTEE

from services.neighborhood_committee import briefing
from services.neighborhood_committee.sources import SOURCES, late_tasks

TOP = 10
RATES = ("response_rate", "on_time_rate", "resolution_rate", "satisfaction_rate")


def next_month(first):
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(first):
    return (first - timedelta(days=1)).replace(day=1)


def _change(now, before):
    return {rate: (round(now[rate] - before[rate], 4)
                   if now[rate] is not None and before[rate] is not None else None)
            for rate in RATES}


def _recurring(counts, previous):
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP]
    return [{"source": source, "key": key, "count": count, "previous": previous.get((source, key), 0)}
            for (source, key), count in ranked]


def _tally(documents, start, end, key):
    counts = {}
    for source in SOURCES:
        for doc in documents[source.name]:
            if briefing.in_window(source, doc, start, end):
                name = key(source, doc)
                if name:
                    counts[(source.name, name)] = counts.get((source.name, name), 0) + 1
    return counts


def escalated_open(documents, now):
    items = []
    for source in SOURCES:
        for doc in documents[source.name]:
            if not source.is_open(doc):
                continue
            for party, task in late_tasks(source, doc, now):
                if task["overdue"] and source.name != "cases":
                    items.append(briefing.item_of(source, doc, party, kind="overdue",
                                                due_at=task["due_at"],
                                                late_seconds=briefing.late_seconds_of(task, now)))
            if doc.get("escalated"):
                last = doc["escalations"][-1]
                party = last["party"] or (source.owner(doc) if hasattr(source, "owner") else COMMITTEE)
                if last["reason"] == "returned_twice":
                    party = COMMITTEE
                items.append(briefing.item_of(source, doc, party, kind=last["reason"],
                                            detail="escalated %s" % last["at"].date().isoformat()))
    return items


def days(documents, start, end, zone):
    """Per local day from `start` to `end`: intake per source; per party,
    its parts finished that day and the share within their limit."""
    from zoneinfo import ZoneInfo
    local = ZoneInfo(zone)
    first, last = start.astimezone(local).date(), (end - timedelta(seconds=1)).astimezone(local).date()
    rows, day = {}, first
    while day <= last:
        rows[day] = {"date": day.isoformat(), "intake": {source.name: 0 for source in SOURCES},
                     "finished": dict.fromkeys(ALL, 0), "_on_time": dict.fromkeys(ALL, 0)}
        day += timedelta(days=1)
    seen = set()
    for source in SOURCES:
        for doc in documents[source.name]:
            if (source.name, doc["_id"]) in seen:
                continue
            seen.add((source.name, doc["_id"]))
            if briefing.in_window(source, doc, start, end):
                rows[doc[source.opened_at].astimezone(local).date()]["intake"][source.name] += 1
            for party, task in source.task_items(doc):
                at, on_time = source.finished_on_time(task)
                if at is not None and start <= at < end:
                    row = rows[at.astimezone(local).date()]
                    row["finished"][party] += 1
                    row["_on_time"][party] += int(on_time)
    out = []
    for row in rows.values():
        on_time = row.pop("_on_time")
        row["on_time"] = {party: briefing.rate(on_time[party], row["finished"][party]) for party in ALL}
        out.append(row)
    return out


def report(first, zone, now, repository):
    start, end = briefing.month_start(first, zone), briefing.month_start(next_month(first), zone)
    before = previous_month(first)
    previous_start = briefing.month_start(before, zone)
    came_in = repository.came_in(previous_start, end)
    this, last = briefing.kpis(came_in, start, end), briefing.kpis(came_in, previous_start, start)
    open_now = repository.open_items(end)
    pool = {source.name: came_in[source.name] + repository.finished(start, end)[source.name]
            + open_now[source.name] for source in SOURCES}
    intake = briefing.intake(came_in, start, end)
    intake_before = briefing.intake(came_in, previous_start, start)

    def category(source, doc):
        return source.category(doc)

    def building(source, doc):
        return source.building(doc)
    return {
        "month": first.strftime("%Y-%m"), "previous_month": before.strftime("%Y-%m"),
        "time_zone": zone, "period": {"from": start, "to": end}, "generated_at": now,
        "intake": {name: section["total"] for name, section in intake.items()},
        "intake_previous": {name: section["total"] for name, section in intake_before.items()},
        "parties": {party: {"month": this["parties"][party], "previous": last["parties"][party],
                            "change": _change(this["parties"][party], last["parties"][party])}
                    for party in ALL},
        "total": {"month": this["total"], "previous": last["total"],
                  "change": _change(this["total"], last["total"])},
        "top_categories": _recurring(_tally(came_in, start, end, category),
                                     _tally(came_in, previous_start, start, category)),
        "top_locations": _recurring(_tally(came_in, start, end, building),
                                    _tally(came_in, previous_start, start, building)),
        "escalated_open": escalated_open(open_now, now),
        "days": days(pool, start, end, zone),
    }
