"""The case endpoints and handlers every party's service has.

    POST /api/v1/cases                       report a case (202: on its way to the committee)
    GET  /api/v1/cases?role=assigned|reported&status=&overdue=&category=
    GET  /api/v1/cases/{id}                  the assignment, or else the report
    POST /api/v1/cases/{id}/accept | return | resolve

A service class lists CaseDesk among its bases; the committee's service
overrides the report and the reads with its own (it files at once and sees
every case).
"""
from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency
from shared.cases.desk import CaseDeskRepository
from shared.cases.schemas import (AcceptSchema, AssignmentSchema, CaseQuery, ReportRecordSchema,
                                  ReportSchema, ResolveSchema, ReturnSchema)
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.store import Store
from shared.web import Body, Page, api, page

REPORT = ReportSchema()
REPORTED = ReportRecordSchema()
ASSIGNED = AssignmentSchema()


class CaseDesk:
    case_desk = Store(CaseDeskRepository)

    @api("POST", "/api/v1/cases", permission="cases:report", body=REPORT, idempotent=True,
         responses={202: REPORTED, 409: None}, summary="Report a case; it goes to the committee")
    def report_case(self, request):
        key = request.headers.get(idempotency.HEADER)
        report = request.data
        request_hash = idempotency.request_hash(report, self.infra.settings.secret)
        principal = request.principal
        case_id = idempotency.resource_id(key, principal.agency, principal.subject)
        try:
            record = self.case_desk.report(case_id, report, principal.subject, clock.utcnow(),
                                           request_hash)
            self.infra.metrics.cases_reported.labels(report["category"]).inc()
            headers = {}
        except DuplicateKeyError:
            record = idempotency.replay(self.case_desk.reported(case_id), request_hash, key, "report")
            if record is None:
                raise
            headers = {idempotency.REPLAYED: "true"}
        headers["Location"] = "/api/v1/cases/%s" % case_id
        return 202, REPORTED.dump(record), headers

    @api("GET", "/api/v1/cases", permission="cases:read", query=CaseQuery(),
         responses={200: Page((ASSIGNED, REPORTED))},
         summary="The cases assigned to this party (role=assigned) or that it reported")
    def list_cases(self, request):
        query = dict(request.query)
        if query.pop("role", "assigned") == "reported":
            found = self.case_desk.search_reported(**query)
            return page(REPORTED.dump(found.items, many=True), found, query)
        found = self.case_desk.search_assigned(**query)
        return page(ASSIGNED.dump(found.items, many=True), found, query)

    @api("GET", "/api/v1/cases/<string:case_id>", permission="cases:read",
         responses={200: (ASSIGNED, REPORTED)}, summary="A case assigned to or reported by this party")
    def get_case(self, request, case_id):
        assignment = self.case_desk.assignment(case_id)
        if assignment is not None:
            return ASSIGNED.dump(assignment)
        reported = self.case_desk.reported(case_id)
        if reported is not None:
            return REPORTED.dump(reported)
        raise NotFound("no case %s here" % case_id)

    @api("POST", "/api/v1/cases/<string:case_id>/accept", permission="cases:work",
         body=Body(AcceptSchema(), optional=True), responses={200: ASSIGNED, 409: None},
         summary="Accept a case dispatched to this party")
    def accept_case(self, request, case_id):
        return self._act(request, case_id, "accept")

    @api("POST", "/api/v1/cases/<string:case_id>/return", permission="cases:work",
         body=ReturnSchema(), responses={200: ASSIGNED, 409: None},
         summary="Return a case as not this party's, before accepting it")
    def return_case(self, request, case_id):
        return self._act(request, case_id, "return")

    @api("POST", "/api/v1/cases/<string:case_id>/resolve", permission="cases:work",
         body=ResolveSchema(), responses={200: ASSIGNED, 409: None},
         summary="Resolve this party's part of a case")
    def resolve_case(self, request, case_id):
        return self._act(request, case_id, "resolve")

    def _act(self, request, case_id, action):
        try:
            assignment = self.case_desk.act(case_id, action, request.data, request.principal.subject)
        except NotFound:
            if self.sees_case(case_id):  # it may see the case, not act on it
                raise Conflict("case %s is not assigned to %s" % (case_id, self.name))
            raise
        return ASSIGNED.dump(assignment)

    def sees_case(self, case_id):
        """Whether this party may see a case (it reported it)."""
        return self.case_desk.reported(case_id) is not None

    @event_handler("case_dispatched")
    def on_case_dispatched(self, event):
        self.case_desk.receive_dispatch(event)

    @event_handler("case_withdrawn")
    def on_case_withdrawn(self, event):
        self.case_desk.withdraw(event)

    @event_handler("case_rework_requested")
    def on_case_rework_requested(self, event):
        self.case_desk.rework(event)

    @event_handler("case_overdue")
    def on_case_overdue(self, event):
        if self.case_desk.note_case_overdue(event):
            self.infra.metrics.case_overdue_notices.labels(event.payload["limit"]).inc()

    @event_handler("case_status_changed")
    def on_case_status_changed(self, event):
        if self.case_desk.case_status_changed(event):
            self.reported_case_changed(event.payload)

    def reported_case_changed(self, news):
        """A case this party reported changed status: a hook for services
        that keep more about their reports (the cameras)."""
