"""The platform under load: the five services as real processes (tests.system),
registrations through the committee's API, decisions through the police's.

Per rate step:

1. registrations at `rate`/s for `duration` s (open loop), then wait until
   the committee has seen all four parties' part of every accepted one;
2. one police decision per accepted registration at the same rate, then wait
   until every linkage has closed;
3. read the committee's linkages and every party's records for this step's
   registrations straight from the databases (no API polling while the load
   runs), and the services' /metrics counters and the broker's counters.
"""
import json
import os
import time
from collections import Counter
from urllib.parse import urlsplit

import requests
from pymongo import MongoClient

from bench import probes
from bench.identities import People
from bench.loadgen import build_request, run_open_loop
from bench.stats import summary
from shared.auth import issue_token
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.system import AMQP_BASE, MONGO_URI, System

# Each party's record of a registration: (collection, timestamp of its part).
PARTY_RECORDS = {
    POLICE: ("checks", "opened_at"),
    PROPERTY: ("gate_passes", "held_at"),
    DEVELOPER: ("housing_checks", "checked_at"),
    FLOATING: ("registrations", "recorded_at"),
}
DISPATCHED = COMMITTEE + "_dispatch_latency_seconds_count"
CLOSED = COMMITTEE + "_linkages_closed_total"


def _wall(moment):
    return moment.timestamp() if moment is not None else None


class LinkageBench:
    def __init__(self, keys, non_local_share=0.4, drain_timeout=90.0, catch_up_timeout=240.0, settle=6.0,
                 allocations=300, log=print, seed=None, service_settings=None):
        self.keys = keys  # agency -> its token key
        self.people = People(non_local_share, seed=seed)
        self.drain_timeout = drain_timeout
        self.catch_up_timeout = catch_up_timeout
        self.settle = settle
        self.allocations = allocations
        self.log = log
        self.system = System(**(service_settings or {}))
        self.client = None
        self.steps_run = 0

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self.system.create_vhost()
        self.system.start()
        self.client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
        self.pids = {name: process.pid for name, process in self.system.processes.items()}
        self._seed_allocations()

    def stop(self):
        try:
            self.system.stop()
        finally:
            self.system.delete_vhost()
            if self.client is not None:
                self.system.drop_databases(self.client)
                self.client.close()

    def _seed_allocations(self):
        """The developer's allocation records, so housing checks match some claims."""
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + issue_token(self.keys(DEVELOPER), DEVELOPER, "bench")
        for _ in range(self.allocations):
            session.post(self.system.url(DEVELOPER) + "/api/v1/allocations",
                         json=self.people.allocation(), timeout=10).raise_for_status()

    def db(self, service):
        return self.client[self.system.db_prefix + service]

    def stack_pids(self):
        pids = dict(self.pids)
        pids["rabbitmq"] = probes.pid_listening_on(probes.uri_port(AMQP_BASE, 5672))
        pids["ferretdb"] = probes.pid_listening_on(probes.uri_port(MONGO_URI, 27017))
        pids["bench"] = os.getpid()
        # FerretDB on PostgreSQL: its backends do part of the database's work.
        pids["postgres"] = probes.pids_named("postgres")
        return pids

    def scrape(self):
        return {service: probes.scrape(self.system.url(service)) for service in ALL}

    def _committee_count(self, name):
        return probes.metric_sum(probes.scrape(self.system.url(COMMITTEE)), name)

    def _wait_count(self, name, target, started, timeout=None):
        """Poll the committee's counter (cheap: one small HTTP GET a second)
        until it reaches `target`; (reached, the counter's value)."""
        deadline = started + (self.drain_timeout if timeout is None else timeout)
        while True:
            value = self._committee_count(name)
            if value >= target:
                return True, value
            if time.time() > deadline:
                return False, value
            time.sleep(0.5)

    # ------------------------------------------------------------ one step
    def step(self, rate, duration):
        url = urlsplit(self.system.url(COMMITTEE))
        police = urlsplit(self.system.url(POLICE))
        count = int(round(rate * duration))
        bodies = [self.people.registration() for _ in range(count)]
        committee_auth = {"Authorization": "Bearer " + issue_token(self.keys(COMMITTEE), COMMITTEE, "bench-desk"),
                          "Content-Type": "application/json"}
        raws = [build_request("POST", url.hostname, url.port, "/api/v1/returnees",
                              json.dumps(body).encode(), committee_auth) for body in bodies]

        pids = self.stack_pids()
        cpu = probes.CpuMeter(pids)
        broker_before = probes.vhost_message_stats(self.system.vhost)
        metrics_before = self.scrape()
        dispatched_before = probes.metric_sum(metrics_before[COMMITTEE], DISPATCHED)
        closed_before = probes.metric_sum(metrics_before[COMMITTEE], CLOSED)
        cpu.mark("start")

        self.log("  registrations: %d at %g/s" % (count, rate))
        outcomes, window = run_open_loop(url.hostname, url.port, raws, rate)
        cpu.mark("sent")
        accepted = []
        for outcome, body in zip(outcomes, bodies):
            if outcome.status == 201:
                accepted.append((json.loads(outcome.body)["id"], outcome, body))
        drained, dispatched_now = self._wait_count(DISPATCHED, dispatched_before + len(accepted),
                                                   window["ended_wall"])
        caught_up = drained
        if not drained:
            self.log("  not drained after %ss: %d of %d dispatched; waiting up to %ss more for the "
                     "backlog, so the ledger tells lost from late" % (
                         self.drain_timeout, dispatched_now - dispatched_before, len(accepted),
                         self.catch_up_timeout))
            caught_up, dispatched_now = self._wait_count(
                DISPATCHED, dispatched_before + len(accepted), time.time(), self.catch_up_timeout)
            self.log("  %s: %d of %d dispatched" % ("caught up" if caught_up else "still behind",
                                                    dispatched_now - dispatched_before, len(accepted)))
        cpu.mark("dispatched")
        metrics_mid = self.scrape()

        # Decisions only once every registration has reached the police: a
        # decision on a check that is not there yet is a 404, not a measurement.
        decisions = [(returnee_id, self.people.decision()) for returnee_id, _, _ in accepted] \
            if drained else []
        police_auth = {"Authorization": "Bearer " + issue_token(self.keys(POLICE), POLICE, "bench-officer"),
                       "Content-Type": "application/json"}
        raws = [build_request("POST", police.hostname, police.port,
                              "/api/v1/checks/%s/decision" % returnee_id,
                              json.dumps(decision).encode(), police_auth)
                for returnee_id, decision in decisions]
        if drained:
            self.log("  decisions: %d at %g/s" % (len(raws), rate))
        else:
            self.log("  no decisions: the registrations have not all reached the parties")
        decision_outcomes, decision_window = run_open_loop(police.hostname, police.port, raws, rate) \
            if raws else ([], {"started_wall": time.time(), "ended_wall": time.time()})
        cpu.mark("decided")
        decided = sum(1 for o in decision_outcomes if o.status == 200)
        closed, closed_now = self._wait_count(CLOSED, closed_before + decided,
                                              decision_window["ended_wall"]) if drained else (False, 0)
        cpu.mark("closed")
        metrics_after = self.scrape()
        time.sleep(self.settle)  # the management API refreshes its counters every 5 s
        broker_after = probes.vhost_message_stats(self.system.vhost)
        self.steps_run += 1
        after = self.stack_pids()
        restarted = [name for name in ("rabbitmq", "ferretdb") if after[name] != pids[name]]
        if restarted:
            self.log("  WARNING: %s restarted during this step (someone else's test?): "
                     "its numbers are not valid" % " and ".join(restarted))

        return dict(stack_restarted=restarted, caught_up=caught_up, **self._results(rate, duration, count, outcomes, window, accepted, drained,
                             decisions, decision_outcomes, decision_window, closed, cpu,
                             metrics_before, metrics_mid, metrics_after,
                             broker_before, broker_after))

    # ------------------------------------------------------------ measuring
    def _records(self, ids):
        """This step's documents: the committee's linkages and each party's records."""
        wanted = set(ids)
        linkages = {}
        for doc in self.db(COMMITTEE).linkages.find({}, {
                "registered_at": 1, "dispatched_at": 1, "closed_at": 1, "local_hukou": 1,
                "applied_events": 1, "status": 1}):
            if doc["_id"] in wanted:
                linkages[doc["_id"]] = doc
        parties = {}
        for party, (collection, stamp) in PARTY_RECORDS.items():
            found = {}
            counts = Counter()
            for doc in self.db(party)[collection].find({}, {stamp: 1}):
                if doc["_id"] in wanted:
                    counts[doc["_id"]] += 1
                    found[doc["_id"]] = doc.get(stamp)
            parties[party] = (found, counts)
        return linkages, parties

    def _results(self, rate, duration, count, outcomes, window, accepted, drained, decisions,
                 decision_outcomes, decision_window, closed, cpu, metrics_before, metrics_mid,
                 metrics_after, broker_before, broker_after):
        ids = [returnee_id for returnee_id, _, _ in accepted]
        linkages, parties = self._records(ids)
        non_local = {returnee_id for returnee_id, _, body in accepted if not body["local_hukou"]}

        dispatch, dispatch_server, parties_recorded = [], [], []
        for returnee_id, outcome, _ in accepted:
            linkage = linkages.get(returnee_id) or {}
            dispatched_at = _wall(linkage.get("dispatched_at"))
            if dispatched_at is not None:
                dispatch.append(dispatched_at - outcome.done_wall)
                dispatch_server.append(dispatched_at - _wall(linkage["registered_at"]))
            stamps = [parties[party][0].get(returnee_id) for party in (POLICE, PROPERTY, DEVELOPER)]
            if returnee_id in non_local:
                stamps.append(parties[FLOATING][0].get(returnee_id))
            if all(stamp is not None for stamp in stamps):
                parties_recorded.append(max(_wall(s) for s in stamps) - outcome.done_wall)

        close = []
        for (returnee_id, _), outcome in zip(decisions, decision_outcomes):
            closed_at = _wall((linkages.get(returnee_id) or {}).get("closed_at"))
            if outcome.status == 200 and closed_at is not None:
                close.append(closed_at - outcome.done_wall)

        ledger = self._ledger(ids, non_local, linkages, parties)
        consumed = self._consumed(metrics_before, metrics_mid, metrics_after, len(ids),
                                  len(non_local), sum(1 for o in decision_outcomes if o.status == 200))

        first_send = window["started_wall"]
        dispatched_walls = [_wall(l["dispatched_at"]) for l in linkages.values() if l.get("dispatched_at")]
        last_201 = max((o.done_wall for _, o, _ in accepted), default=first_send)
        phase1 = cpu.between("start", "dispatched")
        phase2 = cpu.between("dispatched", "closed")
        published = sum(probes.metric_sum(metrics_after[s], s + "_events_published_total")
                        - probes.metric_sum(metrics_before[s], s + "_events_published_total")
                        for s in ALL)
        delivered = sum(probes.metric_sum(metrics_after[s], s + "_events_consumed_total")
                        - probes.metric_sum(metrics_before[s], s + "_events_consumed_total")
                        for s in ALL)
        active = phase1["wall_seconds"] + phase2["wall_seconds"]
        broker = {key: broker_after[key] - broker_before.get(key, 0) for key in broker_after}
        histogram = {key: value for key, value in probes.subtract(
            metrics_mid[COMMITTEE], metrics_before[COMMITTEE]).items()
            if key[0].startswith(COMMITTEE + "_dispatch_latency_seconds")}
        errors = Counter(o.error.split(":")[0] if o.error else "HTTP %d" % o.status
                         for o in outcomes if o.status != 201)
        decision_errors = Counter(o.error.split(":")[0] if o.error else "HTTP %d" % o.status
                                  for o in decision_outcomes if o.status != 200)
        failed = {s: probes.metric_sum(metrics_after[s], s + "_events_failed_total")
                  - probes.metric_sum(metrics_before[s], s + "_events_failed_total") for s in ALL}
        dead = {s: probes.metric_sum(metrics_after[s], s + "_events_dead_lettered_total")
                - probes.metric_sum(metrics_before[s], s + "_events_dead_lettered_total") for s in ALL}
        return {
            "rate": rate, "duration": duration, "offered": count,
            "offered_per_second": count / duration,
            "accepted": len(ids), "non_local": len(non_local),
            "accepted_per_second": len(ids) / max(last_201 - first_send, 1e-9),
            "dispatched": len(dispatched_walls),
            "dispatched_per_second": len(dispatched_walls) / max(
                max(dispatched_walls, default=first_send) - first_send, 1e-9),
            "drained": drained, "closed_all": closed,
            "registration_http": summary([o.elapsed for o in outcomes if o.status]),
            "send_lateness": summary([o.lateness for o in outcomes]),
            "connections_opened": window["connections_opened"],
            "dispatch_latency": summary(dispatch),
            "dispatch_latency_server": summary(dispatch_server),
            "parties_recorded_latency": summary(parties_recorded),
            "dispatch_histogram_p99": probes.histogram_quantile(
                histogram, COMMITTEE + "_dispatch_latency_seconds", 0.99),
            "decisions": len(decisions),
            "decisions_ok": sum(1 for o in decision_outcomes if o.status == 200),
            "decision_http": summary([o.elapsed for o in decision_outcomes if o.status]),
            "decision_lateness": summary([o.lateness for o in decision_outcomes]),
            "close_latency": summary(close),
            "errors": {"registration": dict(errors), "decision": dict(decision_errors),
                       "events_failed": failed, "events_dead_lettered": dead},
            "ledger": ledger, "consumed": consumed,
            "messages": {"published_by_services": published, "delivered_to_services": delivered,
                         "per_second": (published + delivered) / max(active, 1e-9),
                         "broker": broker,
                         "broker_per_second": (broker.get("publish", 0) + broker.get("deliver_get", 0))
                         / max(active, 1e-9)},
            "cpu": {"registration_phase": phase1, "decision_phase": phase2,
                    "per_registration": {name: seconds / max(len(ids), 1)
                                         for name, seconds in phase1["cpu_seconds"].items()},
                    "per_decision": {name: seconds / max(len(decisions), 1)
                                     for name, seconds in phase2["cpu_seconds"].items()}},
            "collection_sizes": {"linkages": self.db(COMMITTEE).linkages.estimated_document_count()},
        }

    def _ledger(self, ids, non_local, linkages, parties):
        """Did every registration reach every party exactly once?"""
        ledger = {}
        for party, (_, counts) in parties.items():
            expected = non_local if party == FLOATING else set(ids)
            ledger[party] = {
                "expected": len(expected),
                "lost": sum(1 for i in expected if counts[i] == 0),
                "duplicated": sum(1 for i in expected if counts[i] > 1),
                "unexpected": sum(1 for i in counts if i not in expected),
            }
        applied = [len(l.get("applied_events") or []) for l in linkages.values()]
        ledger[COMMITTEE] = {
            "expected": len(ids),
            "lost": sum(1 for i in ids if i not in linkages),
            "not_dispatched": sum(1 for i in ids if not (linkages.get(i) or {}).get("dispatched_at")),
            "not_closed": sum(1 for i in ids if (linkages.get(i) or {}).get("status") != "closed"),
            "duplicate_applied_events": sum(
                len(l.get("applied_events") or []) - len(set(l.get("applied_events") or []))
                for l in linkages.values()),
            "applied_events_total": sum(applied),
        }
        return ledger

    def _consumed(self, before, mid, after, accepted, non_local, decided):
        """Events each service consumed in this step against what it should have."""
        def delta(service, event_type, start, end):
            name = service + "_events_consumed_total"
            return (probes.metric_sum(end[service], name, event_type=event_type)
                    - probes.metric_sum(start[service], name, event_type=event_type))
        expected = [
            (POLICE, "returnee_registered", accepted),
            (PROPERTY, "returnee_housing_declared", accepted),
            (DEVELOPER, "returnee_housing_declared", accepted),
            (FLOATING, "non_local_returnee_registered", non_local),
            (COMMITTEE, "identity_check_opened", accepted),
            (COMMITTEE, "gate_pass_held", accepted),
            (COMMITTEE, "housing_allocation_checked", accepted),
            (COMMITTEE, "non_local_arrival_recorded", non_local),
            (PROPERTY, "identity_check_completed", decided),
            (COMMITTEE, "identity_check_completed", decided),
        ]
        rows = []
        for service, event_type, want in expected:
            got = delta(service, event_type, before, after)
            rows.append({"service": service, "event_type": event_type, "expected": want,
                         "consumed": got})
        gate = delta(COMMITTEE, "gate_pass_issued", before, after) + \
            delta(COMMITTEE, "gate_pass_refused", before, after)
        rows.append({"service": COMMITTEE, "event_type": "gate_pass_issued|refused",
                     "expected": decided, "consumed": gate})
        return rows
