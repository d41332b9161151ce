"""The returnee flow's endpoints at one data size, timed one request at a time.

The measurement runs in rounds, so that the open working set stays small, as
it is in a community where a linkage closes within hours: each round
registers `open_set` returnees (timed), waits until every party has its
part, times the reads while they are open, then decides them at the police
(timed) and waits until they have closed. Every request is timed from send
to the last byte of the answer, over a keep-alive connection.

    register         POST committee /api/v1/returnees (a new returnee)
    get_open         GET  committee /api/v1/returnees/{id} of one of the round's open ones
    get_closed       GET  committee /api/v1/returnees/{id} of a random closed one
    list_open        GET  committee /api/v1/returnees?status=open (first page)
    police_pending   GET  police    /api/v1/checks?status=pending (first page; audits each item)
    decision         POST police    /api/v1/checks/{id}/decision
    audit_first      GET  police    /api/v1/audit (first page, newest first)
    audit_person     GET  police    /api/v1/audit?returnee_id={a random closed one}
    audit_later      GET  police    /api/v1/audit, AUDIT_DEPTH pages in (only if it pages)
    alive            GET  committee /alive: the control, no database; what the machine's
                     other load adds to every request (not part of the goal)
"""
import math
import random
import time
import uuid
from collections import Counter, defaultdict

import requests

from bench.stats import summary
from bench.templates import CLOSED, DISPATCHED
from shared.parties import COMMITTEE, POLICE

AUDIT_DEPTH = 10
ENDPOINTS = ("register", "get_open", "get_closed", "list_open", "police_pending", "decision",
             "audit_first", "audit_person", "audit_later", "alive")
CONTROLS = ("alive",)


class Endpoints:
    def __init__(self, desks, people, log=print, seed=None):
        self.desks = desks
        self.people = people
        self.log = log
        self.rng = random.Random(seed)
        self.times = defaultdict(list)
        self.errors = defaultdict(Counter)
        self.audit_paging = None

    def _timed(self, name, call, expect=200):
        started = time.perf_counter()
        try:
            response = call()
            status = response.status_code
        except requests.RequestException as exc:
            response, status = None, type(exc).__name__
        elapsed = time.perf_counter() - started
        if name is not None:
            if status == expect:
                self.times[name].append(elapsed)
            else:
                self.errors[name][str(status)] += 1
        return response if status == expect else None

    # ------------------------------------------------------------ the run
    def measure(self, closed_ids, samples, open_set, warmup):
        """{endpoint: summary (seconds) with errors}; `closed_ids` grows by
        the returnees this registers (all closed at the end)."""
        self.times.clear()
        self.errors.clear()
        self.audit_paging = self._audit_paging()
        self._round(closed_ids, warmup, warmup, record=False)
        rounds = max(1, math.ceil(samples / open_set))
        registered = 0
        for number in range(rounds):
            size = min(open_set, samples - registered) or open_set
            reads = math.ceil(samples / rounds)
            registered += self._round(closed_ids, size, reads, record=True)
            self.log("    round %d/%d: %d registered and closed" % (number + 1, rounds, registered))
        result = {}
        for name in ENDPOINTS:
            if name == "audit_later" and self.audit_paging is None:
                continue
            result[name] = dict(summary(self.times[name]), errors=dict(self.errors[name]))
        if self.audit_paging:
            result["audit_later"]["paging"] = "%s, %d pages in" % (self.audit_paging, AUDIT_DEPTH)
        return result, registered

    def _round(self, closed_ids, size, reads, record):
        name = (lambda label: label) if record else (lambda label: None)
        desks = self.desks
        dispatched = desks.counter(DISPATCHED)
        closed = desks.counter(CLOSED)
        opened = []
        for _ in range(size):
            body = self.people.registration()
            key = {"Idempotency-Key": "growth-%s" % uuid.uuid4().hex}
            response = self._timed(name("register"), lambda: desks.post(
                COMMITTEE, "/api/v1/returnees", body, headers=key), expect=201)
            if response is not None:
                opened.append(response.json()["id"])
        desks.wait_counter(DISPATCHED, dispatched + len(opened), what="the round's registrations")

        later = self._audit_later_params()
        calls = {
            "get_open": lambda: desks.get(COMMITTEE, "/api/v1/returnees/%s" % self.rng.choice(opened)),
            "get_closed": lambda: desks.get(COMMITTEE, "/api/v1/returnees/%s"
                                            % self.rng.choice(closed_ids)),
            "list_open": lambda: desks.get(COMMITTEE, "/api/v1/returnees", status="open"),
            "police_pending": lambda: desks.get(POLICE, "/api/v1/checks", status="pending"),
            "audit_first": lambda: desks.get(POLICE, "/api/v1/audit"),
            "audit_person": lambda: desks.get(POLICE, "/api/v1/audit",
                                              returnee_id=self.rng.choice(closed_ids)),
            "alive": lambda: desks.get(COMMITTEE, "/alive"),
        }
        if later is not None:
            calls["audit_later"] = lambda: desks.get(POLICE, "/api/v1/audit", **later)
        for _ in range(reads):
            order = list(calls)
            self.rng.shuffle(order)  # no endpoint always right after another
            for label in order:
                if label == "get_open" and not opened:
                    continue
                self._timed(name(label), calls[label])

        decided = 0
        for returnee_id in opened:
            outcome = "flagged" if self.rng.random() < 0.1 else "cleared"
            response = self._timed(name("decision"), lambda: desks.post(
                POLICE, "/api/v1/checks/%s/decision" % returnee_id,
                {"outcome": outcome, "note": "growth bench: identity verified"}))
            decided += response is not None
        desks.wait_counter(CLOSED, closed + decided, what="the round's linkages closing")
        closed_ids.extend(opened)
        return len(opened)

    # ------------------------------------------------------------ audit paging
    def _audit_paging(self):
        """How the audit endpoint pages, if it does: `cursor` (its answer has
        `next`) or `offset` (its OpenAPI document declares one)."""
        first = self.desks.get(POLICE, "/api/v1/audit").json()
        if "next" in first:
            return "cursor"
        spec = self.desks.get(POLICE, "/openapi.json").json()
        operation = spec.get("paths", {}).get("/api/v1/audit", {}).get("get", {})
        names = {parameter.get("name") for parameter in operation.get("parameters", [])}
        return "offset" if "offset" in names else None

    def _audit_later_params(self):
        """The query of the page AUDIT_DEPTH pages in (or the deepest there is)."""
        if self.audit_paging == "offset":
            first = self.desks.get(POLICE, "/api/v1/audit").json()
            return {"offset": AUDIT_DEPTH * (first.get("limit") or len(first["items"]) or 100)}
        if self.audit_paging != "cursor":
            return None
        params = {}
        for _ in range(AUDIT_DEPTH):
            following = self.desks.get(POLICE, "/api/v1/audit", **params).json().get("next")
            if not following:
                break
            params = {"cursor": following}
        return params
