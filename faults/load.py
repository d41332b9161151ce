"""The returnee flow as the desks drive it, under faults.

Registrations leave at a steady rate through the committee's API (round
robin over its replicas), each with its own `Idempotency-Key`. The police
decide each accepted registration `think` seconds after its 201. A request
without a definite answer (no answer, a 5xx, a 429) is sent again later with
the same key, as a front end would, until it gets one: so a registration
whose 201 was lost in a crash is found again (the key names the same
linkage) rather than counted twice or not at all. Every answer is kept, with
its time, for the scenario to say what the API answered during the fault.
"""
import heapq
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from shared.auth import development_key, issue_token
from shared.parties import COMMITTEE, POLICE
from shared.settings import DEVELOPMENT_SECRET

REQUEST_TIMEOUT = 30.0
RETRY_PAUSES = (1.0, 2.0, 4.0, 5.0)  # between attempts without a definite answer


def token(agency, user):
    return issue_token(development_key(DEVELOPMENT_SECRET, agency), agency, user)


def definite(status):
    """An answer that will not change if asked again (a 5xx or a 429 may)."""
    return status and status < 500 and status != 429


@dataclass
class Answer:
    at: float          # wall clock when it came (or failed)
    kind: str          # "register" or "decide"
    status: int        # 0: no answer
    elapsed: float
    retry_after: str = None
    error: str = ""


@dataclass
class Registration:
    index: int
    key: str
    body: dict
    target: int                     # which committee replica it is sent to first
    attempts: int = 0
    status: int = 0                 # the last answer's
    returnee_id: str = None         # once a 201 named it
    accepted_at: float = None
    decision: dict = None           # what the officer sends
    decided: int = 0                # the decision's definite answer (200, or 409: decided before)
    decision_attempts: int = 0
    replayed: bool = False          # the 201 said Idempotent-Replayed: an earlier attempt wrote it
    answers: list = field(default_factory=list)


class Scheduler:
    """Calls `fn(*args)` at wall-clock `at` on a pool of threads."""

    def __init__(self, workers=64):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flow")
        self.heap, self.seq = [], 0
        self.cv = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def at(self, when, fn, *args):
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, fn, args))
            self.cv.notify()

    def _run(self):
        while True:
            with self.cv:
                while self.running and (not self.heap or self.heap[0][0] > time.time()):
                    self.cv.wait(timeout=None if not self.heap else self.heap[0][0] - time.time())
                if not self.running:
                    return
                _, _, fn, args = heapq.heappop(self.heap)
            self.pool.submit(fn, *args)

    def close(self):
        with self.cv:
            self.running = False
            self.cv.notify()
        self.pool.shutdown(wait=True, cancel_futures=True)


class Flow:
    def __init__(self, committee_urls, police_urls, people, rate, duration, think=2.0, tag="f"):
        self.committee_urls = list(committee_urls)
        self.police_urls = list(police_urls)
        self.rate, self.duration, self.think = rate, duration, think
        count = int(round(rate * duration))
        self.registrations = [
            Registration(i, "%s-%05d" % (tag, i), people.registration(), i % len(self.committee_urls))
            for i in range(count)]
        for registration in self.registrations:
            registration.decision = people.decision()
        self.committee_auth = {"Authorization": "Bearer " + token(COMMITTEE, "faults-desk")}
        self.police_auth = {"Authorization": "Bearer " + token(POLICE, "faults-officer")}
        self.answers = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.scheduler = None
        self.started = None

    # ------------------------------------------------------------ running
    def start(self):
        self.scheduler = Scheduler()
        self.started = time.time() + 0.2
        for registration in self.registrations:
            self.scheduler.at(self.started + registration.index / self.rate, self._register,
                              registration)

    def burst(self, people, count, tag="burst"):
        """`count` more registrations, all sent at once; the list of them."""
        burst = [Registration(len(self.registrations) + i, "%s-%03d" % (tag, i),
                              people.registration(), 0) for i in range(count)]
        for registration in burst:
            registration.decision = people.decision()
        self.registrations.extend(burst)
        for registration in burst:
            self.scheduler.pool.submit(self._register, registration)
        return burst

    def sends_done_at(self):
        return self.started + self.duration

    def settled(self):
        """Every registration has a definite answer and every accepted one a decision."""
        return all(definite(r.status) and (r.returnee_id is None or r.decided)
                   for r in self.registrations)

    def wait(self, timeout):
        deadline = time.time() + timeout
        while not self.settled() and time.time() < deadline:
            time.sleep(0.5)
        return self.settled()

    def close(self):
        if self.scheduler is not None:
            self.scheduler.close()

    # ------------------------------------------------------------ requests
    def _session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def _post(self, kind, url, body, headers):
        started = time.perf_counter()
        try:
            response = self._session().post(url, json=body, headers=headers, timeout=REQUEST_TIMEOUT)
            answer = Answer(time.time(), kind, response.status_code, time.perf_counter() - started,
                            response.headers.get("Retry-After"))
        except requests.RequestException as exc:
            response = None
            answer = Answer(time.time(), kind, 0, time.perf_counter() - started,
                            error=type(exc).__name__)
        with self.lock:
            self.answers.append(answer)
        return answer, response

    def _register(self, registration):
        registration.attempts += 1
        # A retry goes to the next replica: the first may be the one that is down.
        url = self.committee_urls[(registration.target + registration.attempts - 1)
                                  % len(self.committee_urls)]
        headers = dict(self.committee_auth, **{"Idempotency-Key": registration.key})
        answer, response = self._post("register", url + "/api/v1/returnees", registration.body,
                                      headers)
        registration.status = answer.status
        registration.answers.append(answer.status)
        if answer.status == 201:
            registration.returnee_id = response.json()["id"]
            registration.replayed = response.headers.get("Idempotent-Replayed") == "true"
            registration.accepted_at = answer.at
            self.scheduler.at(answer.at + self.think, self._decide, registration)
        elif not definite(answer.status):
            self.scheduler.at(time.time() + _pause(registration.attempts), self._register,
                              registration)

    def _decide(self, registration):
        registration.decision_attempts += 1
        # As registrations: a retry goes to the next police replica.
        url = self.police_urls[(registration.index + registration.decision_attempts - 1)
                               % len(self.police_urls)]
        answer, _ = self._post("decide", "%s/api/v1/checks/%s/decision" % (
            url, registration.returnee_id), registration.decision, self.police_auth)
        if answer.status in (200, 409):
            registration.decided = answer.status
        else:  # 404: the check is not at the police yet; or no definite answer
            self.scheduler.at(time.time() + _pause(registration.decision_attempts), self._decide,
                              registration)

    # ------------------------------------------------------------ results
    def accepted(self):
        return [r for r in self.registrations if r.returnee_id]

    def answers_between(self, start, end, kind=None):
        with self.lock:
            return [a for a in self.answers if start <= a.at <= end and (kind is None or a.kind == kind)]


def _pause(attempt):
    return RETRY_PAUSES[min(attempt, len(RETRY_PAUSES)) - 1]
