"""The committee's case dispatch: files every reported case, routes it by
the routing table, follows each party's assignment against its limits,
verifies and closes, records the resident's call-back, and counts it all.

    POST /api/v1/cases                      report and file at once (201)
    GET  /api/v1/cases?role=all|assigned|reported&status=&overdue=&escalated=&category=&party=
    GET  /api/v1/cases/{id}                 the whole case, reporter and timeline included
    POST /api/v1/cases/{id}/dispatch        (re-)dispatch by hand
    POST /api/v1/cases/{id}/verify          confirmed | rework
    POST /api/v1/cases/{id}/feedback        the resident's call-back
    GET  /api/v1/case-categories            the routing table
    GET  /api/v1/case-kpis?from=&to=        response, on-time, return and satisfaction rates
"""
import logging
from datetime import datetime, time, timedelta, timezone

from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency
from shared.cases.entrypoints import ASSIGNED, REPORT, CaseDesk
from shared.cases.schemas import CASE_STATUSES
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.parties import ALL, COMMITTEE
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.neighborhood_committee import cases as domain
from services.neighborhood_committee import routing
from services.neighborhood_committee.case_repository import CaseRepository
from services.neighborhood_committee.case_schemas import (CaseDetailSchema, CaseSummarySchema,
                                                          CategoriesSchema, CommitteeCaseQuery,
                                                          DispatchSchema, FeedbackSchema, KpiQuery,
                                                          KpiSchema, VerifySchema)

log = logging.getLogger(__name__)

DETAIL = CaseDetailSchema()
SUMMARY = CaseSummarySchema()
DISPATCH = DispatchSchema()
VERIFY = VerifySchema()
FEEDBACK = FeedbackSchema()
CATEGORIES = CategoriesSchema()
KPIS = KpiSchema()
REOPEN_DAYS = 7


class Routing(DependencyProvider):
    """The routing table, read from the settings once; a bad one stops the start."""

    def setup(self):
        config = self.container.config
        self.table = routing.load(config)
        self.reopen_days = routing.positive(config, "CASE_REOPEN_DAYS", REOPEN_DAYS)

    def get_dependency(self, worker_ctx):
        return self


class CaseDispatch(CaseDesk):
    cases = Store(CaseRepository)
    routing = Routing()

    # --- reports -----------------------------------------------------------

    @api("POST", "/api/v1/cases", permission="cases:report", body=REPORT, idempotent=True,
         responses={201: DETAIL, 409: None}, summary="Report a case and file it at once")
    def report_case(self, request):
        key = request.headers.get(idempotency.HEADER)
        report = request.data
        request_hash = idempotency.request_hash(report, self.infra.settings.secret)
        user = request.principal.subject
        case_id = idempotency.resource_id(key, COMMITTEE, user)
        case, messages = domain.new_case(case_id, report, COMMITTEE, user, clock.utcnow(),
                                         self.routing.table)
        case["request_hash"] = request_hash
        headers = {"Location": "/api/v1/cases/%s" % case_id}
        try:
            self.cases.file(case, messages)
            self._count_filed(case)
            self.infra.metrics.cases_reported.labels(case["category"]).inc()
        except DuplicateKeyError:
            case = idempotency.replay(self.cases.get(case_id), request_hash, key, "report")
            if case is None:
                raise
            headers[idempotency.REPLAYED] = "true"
        return 201, DETAIL.dump(case), headers

    @event_handler("case_reported")
    def on_case_reported(self, event):
        report = event.payload
        case, messages = domain.new_case(report["case_id"], report, report["reported_by"],
                                         report["reported_by_user"], clock.utcnow(),
                                         self.routing.table)
        if self.cases.file_once(case, messages):
            self._count_filed(case)

    def _count_filed(self, case):
        metrics = self.infra.metrics
        metrics.cases_filed.labels(case["category"], case["priority"]).inc()
        for party, task in case["assignments"].items():
            metrics.cases_dispatched.labels(party, task["priority"]).inc()

    # --- reads ---------------------------------------------------------------

    @api("GET", "/api/v1/cases", permission="cases:read", query=CommitteeCaseQuery(),
         responses={200: Page((SUMMARY, ASSIGNED))},
         summary="Every case (role=all), the committee's own assignments, or what it reported")
    def list_cases(self, request):
        query = dict(request.query)
        role = query.pop("role", "all")
        if role == "assigned":
            desk_query = {k: v for k, v in query.items() if k not in ("escalated", "party")}
            found = self.case_desk.search_assigned(**desk_query)
            return page(ASSIGNED.dump(found.items, many=True), found, query)
        if role == "reported":
            query["reported_by"] = COMMITTEE
        found = self.cases.search(now=clock.utcnow(), **query)
        return page(SUMMARY.dump(found.items, many=True), found, query)

    @api("GET", "/api/v1/cases/<string:case_id>", permission="cases:read",
         responses={200: DETAIL}, summary="The whole case: reporter, assignments, timeline")
    def get_case(self, request, case_id):
        return DETAIL.dump(self._existing(case_id))

    @api("GET", "/api/v1/case-categories", permission="cases:read",
         responses={200: CATEGORIES}, summary="The routing table")
    def case_categories(self, request):
        return CATEGORIES.dump({"items": self.routing.table.describe(),
                                "statuses": list(CASE_STATUSES[1:]), "parties": list(ALL)})

    @api("GET", "/api/v1/case-kpis", permission="cases:kpis", query=KpiQuery(),
         responses={200: KPIS}, summary="Response, on-time, return and satisfaction rates")
    def case_kpis(self, request):
        query = request.query
        start = datetime.combine(query["from_"], time(), timezone.utc)
        end = datetime.combine(query["to"] + timedelta(days=1), time(), timezone.utc)
        result = domain.kpis(self.cases.reported_between(start, end), ALL)
        return KPIS.dump(dict(result, from_=query["from_"], to=query["to"],
                              cases_reported_between=[start, end]))

    def sees_case(self, case_id):
        return self.cases.get(case_id) is not None

    def _existing(self, case_id):
        case = self.cases.get(case_id)
        if case is None:
            raise NotFound("no case %s" % case_id)
        return case

    # --- the committee's decisions -------------------------------------------

    @api("POST", "/api/v1/cases/<string:case_id>/dispatch", permission="cases:dispatch",
         body=DISPATCH, responses={200: DETAIL, 409: None}, summary="Dispatch a case by hand")
    def dispatch_case(self, request, case_id):
        body = request.data
        user = request.principal.subject
        before = self._existing(case_id)
        case = self._decide(case_id, lambda case: domain.dispatch(
            case, body["to"], clock.utcnow(), self.routing.table, by=user,
            priority=body["priority"], note=body["note"]))
        for party, task in case["assignments"].items():
            earlier = before["assignments"].get(party)
            if earlier is None or earlier["round"] != task["round"]:
                self.infra.metrics.cases_dispatched.labels(party, task["priority"]).inc()
        return DETAIL.dump(case)

    @api("POST", "/api/v1/cases/<string:case_id>/verify", permission="cases:verify",
         body=VERIFY, responses={200: DETAIL, 409: None},
         summary="Confirm a resolved case (it closes) or send it back for rework")
    def verify_case(self, request, case_id):
        body = request.data
        case = self._decide(case_id, lambda case: domain.verify(
            case, body["outcome"], body["note"], request.principal.subject, clock.utcnow(),
            self.routing.table))
        if case["status"] == "closed":
            self.infra.metrics.cases_closed.inc()
        return DETAIL.dump(case)

    @api("POST", "/api/v1/cases/<string:case_id>/feedback", permission="cases:feedback",
         body=FEEDBACK, responses={200: DETAIL, 409: None},
         summary="The resident's call-back; unsatisfied and unresolved reopens the case")
    def case_feedback(self, request, case_id):
        body = request.data
        case = self._decide(case_id, lambda case: domain.feedback(
            case, body, request.principal.subject, clock.utcnow(), self.routing.table,
            self.routing.reopen_days))
        metrics = self.infra.metrics
        metrics.cases_rated.labels(body["satisfaction"]).inc()
        if case["closed_at"] is None:
            metrics.cases_reopened.inc()
        return DETAIL.dump(case)

    def _decide(self, case_id, decide):
        def guarded(case):
            try:
                return decide(case)
            except domain.Rejected as exc:
                raise Conflict(str(exc))
        case = self._change(case_id, guarded)
        if case is None:
            raise NotFound("no case %s" % case_id)
        return case

    def _change(self, case_id, decide, event_id=None):
        """The repository's change, counting the escalations it made."""
        added = []

        def counted(case):
            before = len(case["escalations"])
            messages = decide(case)
            added[:] = case["escalations"][before:] if messages is not None else []
            return messages
        case = self.cases.change(case_id, counted, event_id)
        for escalation in added:
            self.infra.metrics.cases_escalated.labels(escalation["reason"]).inc()
        return case

    # --- what the parties did ------------------------------------------------

    @event_handler("case_accepted")
    def on_case_accepted(self, event):
        case = self._apply(event, domain.record_accepted)
        if case is not None:
            task = case["assignments"][event.payload["party"]]
            on_time = event.payload["at"] <= task["accept_due"]
            self.infra.metrics.cases_accepted.labels(event.payload["party"], str(on_time).lower()).inc()

    @event_handler("case_returned")
    def on_case_returned(self, event):
        case = self._apply(event, domain.record_returned)
        if case is not None:
            self.infra.metrics.cases_returned.labels(event.payload["party"]).inc()

    @event_handler("case_resolved")
    def on_case_resolved(self, event):
        case = self._apply(event, domain.record_resolved)
        if case is not None:
            task = case["assignments"][event.payload["party"]]
            on_time = event.payload["at"] <= task["resolve_due"]
            self.infra.metrics.cases_resolved.labels(event.payload["party"], str(on_time).lower()).inc()

    @event_handler("case_detection_counted")
    def on_case_detection_counted(self, event):
        def count(case):
            return [] if domain.record_detections(case, event.payload) else None
        if self._change(event.payload["case_id"], count, event.event_id) is None:
            raise LookupError("no case %s yet" % event.payload["case_id"])

    def _apply(self, event, record):
        """The case as a party's event changed it; None when the event was
        stale or applied before (nothing to count)."""
        applied = {}

        def decide(case):
            messages = record(case, event.payload, clock.utcnow())
            if messages is not None:
                applied["case"] = case
            return messages
        if self._change(event.payload["case_id"], decide, event.event_id) is None:
            raise LookupError("no case %s yet" % event.payload["case_id"])
        return applied.get("case")

    # --- limits ----------------------------------------------------------------

    @every("OVERDUE_SCAN_SECONDS")
    def escalate_due_cases(self):
        """Mark parties past an accept or resolve limit, once per limit, and
        escalate what is past twice its limit; found by the due-time key."""
        now = clock.utcnow()
        metrics = self.infra.metrics
        for due in self.cases.due(now):
            outcome = {}

            def decide(case):
                messages = domain.mark_due(case, now)
                outcome["marks"] = [payload for kind, payload in messages if kind == "case_overdue"]
                return messages
            self._change(due["_id"], decide)
            for mark in outcome.get("marks", ()):
                metrics.cases_overdue.labels(mark["party"], mark["limit"]).inc()
                log.warning("case overdue", extra={"correlation_id": due["_id"], "fields": {
                    "party": mark["party"], "limit": mark["limit"]}})
        for status, count in self.cases.open_counts().items():
            metrics.cases_open.labels(status).set(count)
