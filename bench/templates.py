"""The template linkages the data-growth benchmark copies: a few returnees
driven through the real flow to closure, as the agencies' front ends drive it,
and the wait until every service has written everything they cause.

Each template is registered at the committee (with an Idempotency-Key), read
by the police in full (an audited read), looked up by the committee (audited)
and, when not local, by the floating-population office (audited); the
property company and the developer look up their part; the police decide
(one in ten flagged, the rest cleared), and the linkage closes when every
party has acted. Half the templates claim a flat the developer has on record
for them, so housing checks both match and do not.
"""
import os
import time
import uuid

import requests

from bench.probes import metric_sum, scrape
from shared.auth import development_key, issue_token
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.settings import DEVELOPMENT_SECRET

TOKEN_TTL = 3 * 24 * 3600  # a 100k run on SQLite takes hours
DISPATCHED = COMMITTEE + "_dispatch_latency_seconds_count"
CLOSED = COMMITTEE + "_linkages_closed_total"


def agency_keys():
    """The services share the environment: one key if LINKAGE_SECRET is set,
    else each agency's development key (shared/auth.py)."""
    secret = os.environ.get("LINKAGE_SECRET")
    return (lambda agency: secret) if secret else (
        lambda agency: development_key(DEVELOPMENT_SECRET, agency))


class Desks:
    """Each agency's front end: a keep-alive HTTP session with its token."""

    def __init__(self, urls, keys=None, user="growth"):
        keys = keys or agency_keys()
        self.urls = urls
        self.sessions = {}
        for agency in ALL:
            session = requests.Session()
            session.headers["Authorization"] = "Bearer " + issue_token(
                keys(agency), agency, "%s-%s" % (user, agency.split("_")[-1]), TOKEN_TTL)
            self.sessions[agency] = session

    def get(self, agency, path, timeout=120, **params):
        return self.sessions[agency].get(self.urls[agency] + path, params=params, timeout=timeout)

    def post(self, agency, path, body, headers=None, timeout=120):
        return self.sessions[agency].post(self.urls[agency] + path, json=body, headers=headers or {},
                                          timeout=timeout)

    def counter(self, name):
        return metric_sum(scrape(self.urls[COMMITTEE]), name)

    def wait_counter(self, name, target, timeout=180, what=None):
        deadline = time.monotonic() + timeout
        while True:
            value = self.counter(name)
            if value >= target:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError("%s: %s is %s after %ss, expected %s" % (
                    what or "waiting", name, value, timeout, target))
            time.sleep(0.1)


def register(desks, body):
    """POST a registration with an Idempotency-Key; the new linkage's id."""
    response = desks.post(COMMITTEE, "/api/v1/returnees", body,
                          headers={"Idempotency-Key": "growth-%s" % uuid.uuid4().hex})
    if response.status_code != 201:
        raise RuntimeError("registration answered %s: %s" % (response.status_code, response.text[:300]))
    return response.json()["id"]


def drive(desks, people, count, log=print, timeout=180):
    """`count` returnees registered and closed through the five services'
    APIs; their ids (and which are non-local)."""
    allocations = []
    for _ in range(max(1, count // 2)):
        allocation = dict(people.allocation(), handed_over=True)
        response = desks.post(DEVELOPER, "/api/v1/allocations", allocation)
        response.raise_for_status()
        allocations.append(allocation)
    dispatched = desks.counter(DISPATCHED)
    closed = desks.counter(CLOSED)
    bodies, ids = [], []
    for number in range(count):
        body = people.registration()
        if number % 2 == 0:  # a flat on record, claimed by one of its household
            allocation = allocations[(number // 2) % len(allocations)]
            body["address"] = {k: allocation[k] for k in ("building", "unit", "room")}
            body["name"] = allocation["household"][0]
        bodies.append(body)
        ids.append(register(desks, body))
    desks.wait_counter(DISPATCHED, dispatched + count, timeout, "templates reaching every party")
    log("  %d templates registered, every party has its part" % count)
    for number, (returnee_id, body) in enumerate(zip(ids, bodies)):
        _look(desks, returnee_id, body)
        outcome = "flagged" if number % 10 == 9 else "cleared"
        response = desks.post(POLICE, "/api/v1/checks/%s/decision" % returnee_id,
                              {"outcome": outcome, "note": "growth template: identity verified"})
        if response.status_code != 200:
            raise RuntimeError("decision answered %s: %s" % (response.status_code, response.text[:300]))
    desks.wait_counter(CLOSED, closed + count, timeout, "templates closing")
    log("  %d templates closed" % count)
    return ids


def _look(desks, returnee_id, body):
    """Each party looks its part up, as its desk would before the decision."""
    reads = [(POLICE, "/api/v1/checks", {"returnee_id": returnee_id}),
             (POLICE, "/api/v1/checks/%s" % returnee_id, {}),
             (COMMITTEE, "/api/v1/returnees/%s" % returnee_id, {}),
             (PROPERTY, "/api/v1/passes", {"returnee_id": returnee_id}),
             (DEVELOPER, "/api/v1/housing-checks", {"returnee_id": returnee_id})]
    if not body["local_hukou"]:
        reads.append((FLOATING, "/api/v1/registrations", {"returnee_id": returnee_id}))
    for agency, path, params in reads:
        response = desks.get(agency, path, **params)
        if response.status_code != 200:
            raise RuntimeError("%s %s answered %s" % (agency, path, response.status_code))


def wait_quiet(client, databases, queue_depths, settle=3.0, timeout=180):
    """Until every service has written everything: the broker's queues are
    empty, no document holds an unconfirmed event, and nothing changed in
    any database for `settle` seconds."""
    from bench.clone import counts, pending_outboxes, snapshot
    from bson import json_util
    deadline = time.monotonic() + timeout
    last = None
    while True:
        queued = sum(queue_depths().values())
        pending = pending_outboxes(client, databases)
        state = (counts(client, databases),
                 hash(json_util.dumps([doc for doc in snapshot(client, databases)], sort_keys=True)))
        if queued == 0 and pending == 0 and state == last:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("not quiet after %ss: %d queued, %d documents with pending events"
                               % (timeout, queued, pending))
        last = state if queued == 0 and pending == 0 else None
        time.sleep(settle)
