"""The committee's intake sources, as the daily briefing and the monthly
report read them: plain Python, no framework.

Each kind of joint work the committee follows (a returnee's registration, a
community case, a tenant of a tenancy the floating-population office
registered) is a Source: where its
documents are, when one came in, its category and location, what each
party's task in it says (received, acknowledged, done, returned, late), and
how it names an item without a full identity (a name, a masked ID, a
flat; a case's category and place, never its reporter or description).
The briefing and the report loop over SOURCES; another source joins by
adding one class and one entry there.
"""
from shared import joint
from shared.catalogue import flat_id
from shared.identity import mask_id
from shared.parties import ALL, COMMITTEE, DEVELOPER

from services.neighborhood_committee import cases as case_domain

ACTIONS = ("received", "acknowledged", "done", "returned")
KPI_COUNTS = ("received", "responded_on_time", "finished", "finished_on_time", "rated", "satisfied")


def _between(moment, start, end):
    return moment is not None and start <= moment < end


class Source:
    name = None           # the section's key: "registrations"
    collections = ()      # where its documents are: working set first, then archive
    opened_at = None      # when a document came in
    closed_at = "closed_at"
    tasks = None          # the field holding party -> task (shared/joint.py)
    pending_check = False  # listed in "pending at a party for more than 24 hours"
    projection = None     # the fields read (none of the person's full identity)
    personal = ()         # fields read encrypted, opened only to be masked

    def open_query(self):
        raise NotImplementedError

    def is_open(self, doc):
        return doc.get(self.closed_at) is None

    def category(self, doc):
        raise NotImplementedError

    def building(self, doc):
        raise NotImplementedError

    def describe(self, doc):
        """What names the item in a briefing: no full ID number or phone."""
        raise NotImplementedError

    def task_items(self, doc):
        """(party, task) of the parties that have work in it."""
        return [(party, task) for party, task in doc[self.tasks].items()
                if task["status"] != "not_required"]

    def received_at(self, doc, task):
        raise NotImplementedError

    def actions(self, doc):
        """(party, what, at) for each step a party took: `what` is one of
        ACTIONS (received, acknowledged, done, returned)."""
        raise NotImplementedError

    def finished_on_time(self, task):
        """(finished at, on time) of the party's part, or (None, None)."""
        raise NotImplementedError

    def kpi_counts(self, docs):
        """party -> counts (KPI_COUNTS) over `docs`."""
        raise NotImplementedError

    def red(self, doc, now):
        """[(kind, party, detail)] that make this item red (besides being late)."""
        return []

    def decisions(self, doc, now):
        """[(party, topic, reason)] for the joint meeting to decide."""
        return []


class PersonChecks(Source):
    """A person checked at several parties at once, every task received
    when the person registered, each with one limit (shared/joint.py): a
    returnee's registration, a tenant."""
    opened_at = "registered_at"
    pending_check = True

    def received_at(self, doc, task):
        return doc["registered_at"]

    def actions(self, doc):
        found = []
        for party, task in self.task_items(doc):
            found.append((party, "received", doc["registered_at"]))
            if task["acknowledged_at"] is not None:
                found.append((party, "acknowledged", task["acknowledged_at"]))
            if task["done"]:
                found.append((party, "done", task["done_at"]))
        return found

    def finished_on_time(self, task):
        if not task["done"]:
            return None, None
        return task["done_at"], task["done_at"] <= task["due_at"]

    def kpi_counts(self, docs):
        rows = {}
        for doc in docs:
            for party, task in self.task_items(doc):
                row = rows.setdefault(party, dict.fromkeys(KPI_COUNTS, 0))
                row["received"] += 1
                acknowledged = task["acknowledged_at"]
                row["responded_on_time"] += bool(acknowledged and acknowledged <= task["due_at"])
                if task["done"]:
                    row["finished"] += 1
                    row["finished_on_time"] += task["done_at"] <= task["due_at"]
        return rows


class Registrations(PersonChecks):
    name = "registrations"
    collections = ("linkages", "linkages_archive")
    tasks = "parties"
    personal = ("id_number",)
    projection = {"name": 1, "id_number": 1, "address": 1, "local_hukou": 1, "registered_at": 1,
                  "status": 1, "parties": 1, "mismatch": 1, "closed_at": 1}

    def open_query(self):
        return {"status": "open"}

    def category(self, doc):
        return "local" if doc["local_hukou"] else "non_local"

    def building(self, doc):
        return doc["address"]["building"]

    def describe(self, doc):
        return {"name": doc["name"], "id_masked": mask_id(doc["id_number"]),
                "flat": flat_id(doc["address"]), "category": self.category(doc)}

    def red(self, doc, now):
        if doc.get("mismatch"):
            status = doc["parties"][DEVELOPER]["status"]
            return [("mismatch", DEVELOPER, status)]
        return []

    def decisions(self, doc, now):
        if doc.get("mismatch") and self.is_open(doc):
            return [(DEVELOPER, "mismatch", "allocation mismatch (%s): confirm who is entitled to flat %s"
                     % (doc["parties"][DEVELOPER]["status"], flat_id(doc["address"])))]
        return []

    def is_open(self, doc):
        return doc["status"] == "open"


class Cases(Source):
    name = "cases"
    collections = ("cases",)
    opened_at = "reported_at"
    tasks = "assignments"
    # Never the reporter, never the description (a resident's own words
    # may hold a phone number).
    projection = {"category": 1, "location": 1, "source": 1, "priority": 1, "status": 1,
                  "reported_at": 1, "closed_at": 1, "assignments": 1, "escalations": 1,
                  "escalated": 1, "returns": 1, "reopened": 1, "feedback": 1,
                  "timeline": 1}

    def open_query(self):
        return {"closed_at": None}

    def category(self, doc):
        return doc["category"]

    def building(self, doc):
        return doc["location"].get("building")

    def describe(self, doc):
        location = doc["location"]
        place = "-".join(str(location[part]) for part in ("building", "unit") if location.get(part))
        if location.get("spot"):
            place = "%s %s" % (place, location["spot"])
        return {"category": doc["category"], "location": place.strip(),
                "priority": doc["priority"], "status": doc["status"]}

    def received_at(self, doc, task):
        return task["dispatched_at"]

    # A party's steps on a case, from its timeline: a case sent back and
    # dispatched again is received (and perhaps returned) twice.
    STEPS = {"dispatched": "received", "accepted": "acknowledged", "resolved": "done",
             "returned": "returned"}

    def actions(self, doc):
        return [(entry["party"], self.STEPS[entry["action"]], entry["at"])
                for entry in doc["timeline"] if entry["action"] in self.STEPS]

    def finished_on_time(self, task):
        if task["status"] != "resolved" or task["resolved_at"] is None:
            return None, None
        return task["resolved_at"], task["resolved_at"] <= task["resolve_due"]

    def kpi_counts(self, docs):
        # The committee's case KPIs (GET /api/v1/case-kpis), in the briefing's terms.
        found = case_domain.kpis(docs, ALL)["parties"]
        return {party: {"received": row["dispatched"], "responded_on_time": row["accepted_on_time"],
                        "finished": row["resolved"], "finished_on_time": row["resolved_on_time"],
                        "rated": row["rated"], "satisfied": row["satisfied"]}
                for party, row in found.items()}

    def owner(self, doc):
        for party, task in doc["assignments"].items():
            if task["role"] == "owner" and task["status"] in case_domain.ACTIVE:
                return party
        return COMMITTEE

    def red(self, doc, now):
        found = []
        if not self.is_open(doc):
            return found
        if doc["priority"] == "urgent":
            found.append(("urgent", self.owner(doc), doc["status"]))
        if any(item["reason"] == "returned_twice" for item in doc["escalations"]):
            found.append(("returned_twice", COMMITTEE, "returned %d times" % doc["returns"]))
        if doc["reopened"]:
            found.append(("reopened", self.owner(doc), "reopened %d times" % doc["reopened"]))
        return found

    def decisions(self, doc, now):
        if not self.is_open(doc):
            return []
        found = []
        if doc["status"] == "filed" and doc["returns"]:
            found.append((COMMITTEE, "returned_by_all", "every party returned it: decide who owns it"))
        elif any(item["reason"] == "returned_twice" for item in doc["escalations"]):
            found.append((COMMITTEE, "returned_twice", "returned twice: confirm the owner"))
        for item in doc["escalations"]:
            if item["reason"] == "past_twice_limit" and item["party"]:
                task = doc["assignments"].get(item["party"])
                if task and not task["done"]:
                    found.append((item["party"], "past_twice_limit",
                                  "held past twice its limit: a date to finish"))
        if doc["reopened"]:
            found.append((self.owner(doc), "reopened", "reopened after an unsatisfied call-back: the rework"))
        return found


class Tenancies(PersonChecks):
    """The tenants of the tenancies the floating-population office
    registered (tenants.py): each tenant is an item, as a returnee is, with
    a task at the police (the check) and at the property company (access
    held until the police clear). Its intake counts tenants, local or
    non-local. It has no red or decision of its own: a late party is red
    and, a day late, a decision, as for every source; a tenant the police
    flag is refused access by the property company's own rule."""
    name = "tenancies"
    collections = ("tenants",)
    tasks = "tasks"
    # Only what the committee's registry holds: never an ID number or phone.
    projection = {"name": 1, "id_masked": 1, "address": 1, "local_hukou": 1, "registered_at": 1,
                  "tenancy_id": 1, "status": 1, "tasks": 1, "closed_at": 1}

    def open_query(self):
        return {"closed_at": None}

    def category(self, doc):
        local = doc.get("local_hukou")
        return "unknown" if local is None else "local" if local else "non_local"

    def building(self, doc):
        return doc["address"]["building"]

    def describe(self, doc):
        return {"name": doc["name"], "id_masked": doc["id_masked"], "flat": flat_id(doc["address"]),
                "category": self.category(doc)}

    def task_items(self, doc):
        # A tenant registered here before tenants carried tasks has none.
        return [(party, task) for party, task in (doc.get(self.tasks) or {}).items()
                if task["status"] != "not_required"]


SOURCES = (Registrations(), Cases(), Tenancies())


def late_tasks(source, doc, now):
    """(party, task) late on an open item now: marked overdue, or past its
    running limit with the timer yet to come round."""
    if not source.is_open(doc):
        return []
    return [(party, task) for party, task in source.task_items(doc)
            if not task["done"] and (task["overdue"] or joint.late(task, now))]


def in_window(source, doc, start, end):
    return _between(doc.get(source.opened_at), start, end)
