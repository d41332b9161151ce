"""The seven scenarios: what runs (settings, replicas), the load, the fault
injected mid-load and what the scenario checks besides the ledger."""
import time

from faults.run import HEALTH_TIMEOUT, Load, answers_by_status, metric
from shared.parties import ALL, COMMITTEE, LINKED, POLICE, PROPERTY


class Scenario:
    number = 0
    title = ""
    settings = {}
    replicas = {}

    def load(self, quick, outage=None):
        return Load(rate=5, duration=30, fault_at=10, fault_seconds=5) if quick else \
            Load(rate=5, duration=60, fault_at=20, fault_seconds=10)

    def inject(self, run):
        raise NotImplementedError

    def after(self, run):
        """Checks once everything has drained (before the ledger)."""

    def judge(self, run, rows, overdue):
        """Checks on the ledger itself."""


class ConsumerKilled(Scenario):
    number = 1
    title = "consumer killed (SIGKILL) mid-load, restarted"

    def inject(self, run):
        # The police mid-registration; then the property company, which
        # also consumes the police's decisions.
        for service, at in ((POLICE, run.load.fault_at), (PROPERTY, run.load.fault_at * 2)):
            run.sleep_until(at)
            window = run.window("SIGKILL %s" % service, pid=run.fleet.pid(service))
            run.fleet.kill(service)
            time.sleep(run.load.fault_seconds)
            run.fleet.restart(service)
            run.close(window)


class BrokerRestarted(Scenario):
    number = 2
    title = "broker: stop_app/start_app, then a full node restart"

    def load(self, quick, outage=None):
        return Load(rate=5, duration=45, fault_at=8, fault_seconds=5) if quick else \
            Load(rate=5, duration=90, fault_at=15, fault_seconds=10)

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        window = run.window("rabbitmqctl stop_app")
        run.stack.stop_app()
        time.sleep(run.load.fault_seconds)
        run.stack.start_app()
        run.close(window)
        run.fleet.wait_healthy(timeout=120)
        run.sleep_until(run.load.duration / 2 + run.load.fault_at)
        window = run.window("rabbitmqctl stop (whole node), then start")
        run.stack.stop_node()
        time.sleep(run.load.fault_seconds)
        run.stack.start_node()
        run.close(window)


class DatabaseKilled(Scenario):
    number = 3
    title = "database killed (SIGKILL) mid-load, restarted"

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        window = run.window("SIGKILL FerretDB", pid=run.stack.database_pid())
        run.stack.kill_database()
        time.sleep(run.load.fault_seconds)
        run.stack.start_database()
        run.close(window)
        self.window = window

    def after(self, run):
        # What the committee answered to writes while its database was gone
        # (and the first seconds after, while clients reconnect).
        answers = run.flow.answers_between(self.window.start, self.window.end + 5, "register")
        counts = answers_by_status(answers)
        missing = sum(1 for a in answers if a.status == 503 and not a.retry_after)
        self.window.notes["registration_answers"] = counts
        run.checks["no 500 while the database is down"] = counts.get("500", 0) == 0
        run.checks["every 503 has Retry-After"] = missing == 0
        # A replayed 201 after nothing but 503s: one of those 503s, which say
        # "nothing was written", had written the linkage.
        lied = [r.key for r in run.flow.registrations
                if r.replayed and r.answers[:-1] and set(r.answers[:-1]) == {503}]
        self.window.notes["answered_503_but_written"] = len(lied)
        run.checks["a 503 wrote nothing"] = not lied
        if lied:
            run.findings.append("%d registration(s) answered 503 (\"nothing was written\") but had "
                                "been written: the retry with the same key was a replay (%s)"
                                % (len(lied), ", ".join(lied[:5])))
        if counts.get("500"):
            run.findings.append(
                "%d registration(s) answered 500 while the database was down (want 503 with "
                "Retry-After): %s" % (counts["500"], counts))


class MemoryAlarm(Scenario):
    number = 4
    title = "broker memory alarm (watermark very low, then restored)"

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        window = run.window("vm_memory_high_watermark 0.0001")
        run.stack.set_watermark(0.0001)
        alarmed = _wait(run.stack.memory_alarm, 15)
        time.sleep(run.load.fault_seconds)
        run.stack.set_watermark(0.4)
        cleared = _wait(lambda: not run.stack.memory_alarm(), 30)
        run.close(window, alarm_raised=alarmed, alarm_cleared=cleared)
        run.checks["the memory alarm was raised"] = alarmed
        run.checks["the memory alarm cleared"] = cleared
        self.window = window

    def after(self, run):
        self.window.notes["registration_answers"] = answers_by_status(
            run.flow.answers_between(self.window.start, self.window.end, "register"))
        self.window.notes["relay_publish_failures"] = {
            service: metric(run.fleet, service, service + "_outbox_publish_failures_total")
            for service in ALL}
        samples = run.health.between(self.window.start, self.window.end)
        late = [s for s in samples if not isinstance(s[2], int)]
        slowest = max((s[3] for s in samples), default=0.0)
        self.window.notes["health_probes"] = {"count": len(samples), "unanswered": len(late),
                                              "slowest_seconds": round(slowest, 2),
                                              "statuses": _counts(s[2] for s in samples)}
        run.checks["/health answers within %gs during the alarm" % HEALTH_TIMEOUT] = not late
        if late:
            run.findings.append("/health did not answer within %gs %d time(s) of %d during the "
                                "memory alarm (%s)" % (HEALTH_TIMEOUT, len(late), len(samples),
                                                       _counts((s[1], s[2]) for s in late)))


class ProducerKilled(Scenario):
    number = 5
    title = "producer (committee) killed (SIGKILL) right after a burst's 201s"
    BURST = 40

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        burst = run.flow.burst(run.people, self.BURST)
        _wait(lambda: all(r.status for r in burst), 60, interval=0.002)
        window = run.window("SIGKILL the committee after a burst of %d answered" % self.BURST,
                            pid=run.fleet.pid(COMMITTEE))
        run.fleet.kill(COMMITTEE)
        pending = list(run.client[COMMITTEE].linkages.find({"outbox_due": {"$ne": None}},
                                                           {"outbox": 1}))
        window.notes.update(burst_201=sum(1 for r in burst if r.status == 201),
                            linkages_with_unpublished_events=len(pending),
                            unpublished_events=sum(len(d.get("outbox") or {}) for d in pending))
        time.sleep(run.load.fault_seconds)
        run.fleet.restart(COMMITTEE)
        run.close(window)
        run.checks["the kill left events in the outbox"] = bool(pending)


LIMIT = 4  # scenario 6's time limit for every party, seconds


class OverdueReplicas(Scenario):
    number = 6

    @property
    def title(self):
        count = self.replicas.get(COMMITTEE, 1)
        return "committee as %s, restarted while parties are overdue" % (
            "two replicas" if count == 2 else "%d replica(s)" % count)
    # Several replicas: document locks every replica shares (README, DOCUMENT_LOCKS).
    settings = dict({"LIMIT_%s_SECONDS" % party.upper(): LIMIT for party in LINKED},
                    OVERDUE_SCAN_SECONDS=0.5, DOCUMENT_LOCKS="database")
    replicas = {COMMITTEE: 2}

    def load(self, quick, outage=None):
        load = super().load(quick)
        load.think = 5 * LIMIT   # the police decide long after their limit
        return load

    def inject(self, run):
        replicas = run.fleet.replicas(COMMITTEE)
        first, second = replicas[0], replicas[-1]
        run.sleep_until(run.load.fault_at)
        window = run.window("SIGKILL committee %s" % first, pid=run.fleet.pid(first))
        run.fleet.kill(first)
        time.sleep(run.load.fault_seconds)
        run.fleet.restart(first)
        run.close(window)
        run.sleep_until(run.load.fault_at * 2)
        window = run.window("SIGTERM committee %s, restarted" % second, pid=run.fleet.pid(second))
        run.fleet.stop(second)
        time.sleep(run.load.fault_seconds)
        run.fleet.restart(second)
        run.close(window)

    def judge(self, run, rows, overdue):
        # A deadline is marked only if the committee's timer sees the party
        # still late, so not every one is; but the police decide long after
        # their limit, so there must be plenty.
        run.checks["deadlines were passed and marked"] = \
            overdue.get("deadlines_passed", 0) >= rows[COMMITTEE]["expected"] // 2


class PartyAway(Scenario):
    number = 7
    title = "a party (property company) stopped for a while during load"

    def load(self, quick, outage=None):
        if quick:
            return Load(rate=5, duration=40, fault_at=10, fault_seconds=outage or 15)
        outage = outage or 600
        return Load(rate=2, duration=outage + 60, fault_at=20, fault_seconds=outage,
                    drain_timeout=900)

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        window = run.window("SIGTERM the property company for %gs" % run.load.fault_seconds)
        run.fleet.stop(PROPERTY)
        time.sleep(run.load.fault_seconds)
        backlog = {name: count for name, count in run.stack.queues().items()
                   if name.startswith(PROPERTY + ".")}
        run.fleet.restart(PROPERTY)
        run.close(window, queued_for_it_on_return=backlog)


class EveryServiceReplicated(Scenario):
    number = 8
    title = "every service as two replicas sharing document locks, one replica of each SIGKILLed"
    # The replica setting on FerretDB: each write's guard checked under a
    # document lock that every replica shares (README, DOCUMENT_LOCKS).
    # The dead replicas' unpublished events wait for a survivor's outbox scan,
    # and notices that beat their task to a party wait for a retry: both short
    # here, so the run drains in seconds rather than minutes.
    settings = dict({"LIMIT_%s_SECONDS" % party.upper(): LIMIT for party in LINKED},
                    OVERDUE_SCAN_SECONDS=0.5, DOCUMENT_LOCKS="database", OUTBOX_SCAN_SECONDS=3,
                    RETRY_DELAYS_MS="1000,2000,5000,10000,30000")
    replicas = {service: 2 for service in ALL}

    def load(self, quick, outage=None):
        # 200 returnees; the police decide after their limit, so notices go out.
        load = Load(rate=5, duration=40, fault_at=15, fault_seconds=0) if quick else \
            Load(rate=5, duration=120, fault_at=40, fault_seconds=0)
        load.think = 3 * LIMIT
        return load

    def inject(self, run):
        run.sleep_until(run.load.fault_at)
        for service in ALL:
            victim = run.fleet.replicas(service)[-1]
            window = run.window("SIGKILL %s" % victim, pid=run.fleet.pid(victim))
            run.fleet.kill(victim)
            run.close(window)

    def judge(self, run, rows, overdue):
        run.checks["deadlines were passed and marked"] = \
            overdue.get("deadlines_passed", 0) >= rows[COMMITTEE]["expected"] // 2


SCENARIOS = {cls.number: cls for cls in (ConsumerKilled, BrokerRestarted, DatabaseKilled,
                                         MemoryAlarm, ProducerKilled, OverdueReplicas, PartyAway,
                                         EveryServiceReplicated)}


def _wait(condition, timeout, interval=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


def _counts(items):
    counts = {}
    for item in items:
        counts[str(item)] = counts.get(str(item), 0) + 1
    return counts
