"""One scenario, start to end: a private stack and the five services on it,
the returnee flow at a steady rate, the scenario's fault mid-load, then the
wait until every accepted registration has closed (or the drain timeout),
and the ledger."""
import json
import threading
from collections import Counter
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from pymongo import MongoClient

from bench import probes
from bench.identities import People
from faults import tap
from faults.fleet import Fleet
from faults.ledger import Ledger, verdict
from faults.load import Flow, definite, token
from faults.stack import PrivateStack
from shared.parties import ALL, COMMITTEE, DEVELOPER, POLICE

HEALTH_TIMEOUT = 3.0
STALL_SECONDS = 60   # the readiness probe's timeoutSeconds (k8s/services/*.yaml)


@dataclass
class Load:
    rate: float             # registrations per second
    duration: float         # seconds of registrations
    fault_at: float         # seconds into the load when the fault starts
    fault_seconds: float    # how long the fault lasts
    think: float = 2.0      # seconds from a 201 to the police decision
    drain_timeout: float = 300.0
    settle: float = 5.0     # after the last linkage closed, for late duplicates


@dataclass
class Window:
    what: str
    start: float
    end: float = None
    notes: dict = field(default_factory=dict)


class HealthProbe:
    """GET /health of every running instance every second, with the probe's timeout."""

    def __init__(self, fleet):
        self.fleet, self.samples, self.running = fleet, [], True
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        session = requests.Session()
        while self.running:
            for name in list(self.fleet.processes):
                started = time.perf_counter()
                try:
                    status = session.get(self.fleet.url(name) + "/health",
                                         timeout=HEALTH_TIMEOUT).status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                self.samples.append((time.time(), name, status, time.perf_counter() - started))
            time.sleep(1.0)

    def stop(self):
        self.running = False
        self.thread.join(timeout=10)

    def summary(self, since):
        """Per instance: probes sent, and when (seconds after `since`) one was
        not answered within the timeout (an instance the scenario had stopped
        refuses at once: not counted)."""
        result = {}
        for at, name, status, _ in self.samples:
            row = result.setdefault(name, {"probes": 0, "timed_out": 0, "timed_out_at": []})
            row["probes"] += 1
            if status in ("ReadTimeout", "ConnectTimeout"):
                row["timed_out"] += 1
                row["timed_out_at"].append(round(at - since, 1))
        return result

    def between(self, start, end, names=None):
        return [s for s in self.samples if start <= s[0] <= end and (names is None or s[1] in names)]


class Run:
    """What a scenario's fault acts on, and where it writes down what it did."""

    def __init__(self, scenario, load, log, out_dir):
        self.scenario, self.load, self.log = scenario, load, log
        self.out_dir = out_dir
        self.windows = []
        self.findings = []
        self.checks = {}
        self.stack = self.fleet = self.flow = self.health = self.client = None

    def window(self, what, **notes):
        window = Window(what, time.time(), notes=notes)
        self.windows.append(window)
        self.log("    fault: %s" % what)
        return window

    def close(self, window, **notes):
        window.end = time.time()
        window.notes.update(notes)
        self.log("    healed after %.1fs: %s" % (window.end - window.start, window.what))

    def sleep_until(self, seconds_into_load):
        time.sleep(max(0.0, self.flow.started + seconds_into_load - time.time()))

    def committee_urls(self):
        return [self.fleet.url(name) for name in self.fleet.replicas(COMMITTEE)]

    # ------------------------------------------------------------ the run
    def execute(self):
        load = self.load
        self.stack = PrivateStack(log=self.log)
        self.log("  private stack: RabbitMQ node %s on %d (management %d), FerretDB on %d, in %s"
                 % (self.stack.node, self.stack.amqp_port, self.stack.mgmt_port,
                    self.stack.mongo_port, self.stack.dir))
        try:
            self.stack.up()
            self.fleet = Fleet(self.stack, self.out_dir / "logs", self.scenario.settings,
                               self.scenario.replicas)
            self.fleet.start()
            self.fleet.supervise()
            self.client = MongoClient(self.stack.mongo_uri, tz_aware=True,
                                      serverSelectionTimeoutMS=5000)
            self.people = people = People(seed=self.scenario.number)
            self._seed_allocations(people)
            tap.install(self.stack.amqp_uri)
            self.flow = Flow(self.committee_urls(), [self.fleet.url(name) for name in
                                                     self.fleet.replicas(POLICE)], people, load.rate,
                             load.duration, load.think, tag="s%d" % self.scenario.number)
            self.health = HealthProbe(self.fleet)
            self.health.start()
            self.log("  load: %g registrations/s for %gs (%d), decisions %gs after each 201"
                     % (load.rate, load.duration, len(self.flow.registrations), load.think))
            self.flow.start()
            self.scenario.inject(self)
            return self._account()
        finally:
            if self.flow is not None:
                self.flow.close()
            if self.health is not None:
                self.health.stop()
            if self.fleet is not None:
                self.fleet.stop_supervising()
                self.fleet.stop()
            if self.client is not None:
                self.client.close()
            self.stack.down()

    def _seed_allocations(self, people, count=60):
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + token(DEVELOPER, "faults")
        for _ in range(count):
            session.post(self.fleet.url(DEVELOPER) + "/api/v1/allocations",
                         json=people.allocation(), timeout=10).raise_for_status()

    def _closed(self, ids):
        linkages = self.client[COMMITTEE].linkages.find({"status": "closed"}, {"_id": 1})
        return len(ids & {doc["_id"] for doc in linkages})

    def _wait_closed(self, accepted):
        """Until every accepted linkage is closed and no queue holds a message
        for anyone (a notice waiting in a retry queue is still on its way);
        or the drain timeout passes; or nothing moves: no linkage closed for
        STALL_SECONDS while every queue is empty."""
        deadline = time.time() + self.load.drain_timeout
        closed, moved = self._closed(accepted), time.time()
        while True:
            queued = self._queued()
            if closed == len(accepted) and not queued:
                return closed, ""
            if time.time() > deadline:
                return closed, " (gave up: drain timeout; %d message(s) still queued)" % queued
            if not queued and time.time() - moved > STALL_SECONDS:
                return closed, " (gave up: nothing moved for %ds, every queue empty)" % STALL_SECONDS
            time.sleep(2.0)
            now = self._closed(accepted)
            if now != closed:
                closed, moved = now, time.time()

    def _queued(self):
        return sum(count for name, count in self.stack.queues().items()
                   if name != tap.TAP and not name.endswith(".dead_letters"))

    def _account(self):
        load, flow = self.load, self.flow
        sends_end = flow.sends_done_at()
        time.sleep(max(0.0, sends_end - time.time()))
        self.log("  load sent; waiting for every registration to be answered and decided")
        settled = flow.wait(timeout=load.drain_timeout)
        accepted = {r.returnee_id for r in flow.accepted()}
        closed, why = self._wait_closed(accepted)
        drained_at = time.time()
        self.log("  %d of %d linkages closed %.0fs after the last send%s"
                 % (closed, len(accepted), drained_at - sends_end, why))
        time.sleep(load.settle)
        self.scenario.after(self)
        published = tap.Published(tap.drain(self.stack.amqp_uri))
        ledger = Ledger(self.client, flow.registrations, published)
        rows, overdue = ledger.rows(), ledger.overdue()
        self.scenario.judge(self, rows, overdue)
        self.findings += ledger_findings(rows, overdue)
        queues = self.stack.queues()
        self.checks["every registration answered and decided"] = settled
        self.checks["no service process died by itself"] = not self.fleet.crashes
        for crash in self.fleet.crashes:
            self.findings.append("%s exited by itself (code %s) %.0fs into the load; the "
                                 "supervisor started it again. Its log: %s" % (
                                     crash["instance"], crash["exit_code"],
                                     crash["at"] - flow.started, crash["why"]))
        ok = verdict(rows, overdue) and all(self.checks.values())
        return {
            "scenario": self.scenario.number, "title": self.scenario.title, "ok": ok,
            "load": dict(asdict(load), offered=len(flow.registrations),
                         accepted=len(accepted),
                         non_local=sum(1 for r in flow.accepted() if not r.body["local_hukou"]),
                         decided=sum(1 for r in flow.accepted() if r.decided),
                         registration_attempts=sum(r.attempts for r in flow.registrations),
                         # Jepsen's "indeterminate": an error answer (or none), and yet the
                         # write happened (the retry with the same key found it).
                         written_despite_error_answer=sum(1 for r in flow.registrations
                                                          if r.replayed),
                         without_definite_answer=[r.key for r in flow.registrations
                                                  if r.status != 201 and not definite(r.status)],
                         refused=dict(Counter(str(r.status) for r in flow.registrations
                                              if definite(r.status) and r.status != 201))),
            "load_started_at": flow.started,
            "faults": [asdict(w) for w in self.windows],
            "seconds_to_drain_after_last_send": round(drained_at - sends_end, 1),
            "all_closed": closed == len(accepted),
            "ledger": rows, "overdue": overdue,
            "events": {"published_distinct": len(published.publications),
                       "published_more_than_once": published.republished()},
            "dead_letters": {s: queues.get("%s.dead_letters" % s, 0) for s in ALL},
            "health_probes": self.health.summary(since=flow.started),
            "crashes": self.fleet.crashes,
            "checks": self.checks, "findings": self.findings,
        }

    def save(self, result):
        path = self.out_dir / ("scenario-%d.json" % self.scenario.number)
        path.write_text(json.dumps(result, indent=2, default=str))
        return path


def ledger_findings(rows, overdue):
    """The ledger's failures in words, each with an example."""
    findings = []
    for party, row in rows.items():
        for kind in ("lost", "duplicated", "unexpected"):
            if row[kind]:
                example = row["examples"][0] if row["examples"] else None
                findings.append("%s: %d of %d registrations %s; e.g. %s" % (
                    party, row[kind], row["expected"], kind, example))
    for kind, what in (("notices_lost", "published but never applied at the party, or never "
                        "published"), ("notices_duplicated", "sent or applied twice"),
                       ("notices_unmarked", "sent for a deadline the committee did not mark")):
        if overdue.get(kind):
            findings.append("%d overdue notice(s) %s (of %d deadlines passed); e.g. %s" % (
                overdue[kind], what, overdue.get("deadlines_passed", 0), overdue["examples"][:2]))
    return findings


def metric(fleet, name, total):
    """The sum of a counter over a service's running instances."""
    return sum(probes.metric_sum(probes.scrape(fleet.url(instance), patience=10), total)
               for instance in fleet.replicas(name) if instance in fleet.processes)


def answers_by_status(answers):
    counts = {}
    for answer in answers:
        key = str(answer.status) if answer.status else (answer.error or "no answer")
        counts[key] = counts.get(key, 0) + 1
    return counts


def out_dir_for(base, number):
    """scenario-N, or scenario-N-2, -3 ... when a run repeats a scenario."""
    path, repeat = Path(base) / ("scenario-%d" % number), 1
    while path.exists():
        repeat += 1
        path = Path(base) / ("scenario-%d-%d" % (number, repeat))
    path.mkdir(parents=True)
    return path
