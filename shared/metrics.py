"""Prometheus metrics of a service, named `<service>_<thing>_<unit>`.

Each service has its own registry, so several services can share a process
(as they do in tests) and each `/metrics` shows only its own series.
"""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, PROPERTY

_BY_SERVICE = {}

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self, service):
        self.service = service
        self.registry = CollectorRegistry()
        p = service + "_"
        r = self.registry
        self.events_published = Counter(p + "events_published", "Events confirmed by the broker",
                                        ["event_type"], registry=r)
        self.events_consumed = Counter(p + "events_consumed", "Events handled successfully",
                                       ["event_type"], registry=r)
        self.events_failed = Counter(p + "events_failed", "Handler attempts that raised",
                                     ["event_type"], registry=r)
        self.events_dead_lettered = Counter(p + "events_dead_lettered", "Events sent to the dead-letter queue",
                                            ["event_type", "reason"], registry=r)
        self.handler_duration = Histogram(p + "event_handler_duration_seconds", "Event handler run time",
                                          ["event_type"], buckets=LATENCY_BUCKETS, registry=r)
        self.http_duration = Histogram(p + "http_request_duration_seconds", "HTTP request handling time",
                                       ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.outbox_backlog = Gauge(p + "outbox_backlog_events", "Events written but not yet confirmed",
                                    registry=r)
        self.outbox_oldest_age = Gauge(p + "outbox_oldest_pending_age_seconds",
                                       "Age of the oldest unpublished event", registry=r)
        self.outbox_publish_failures = Counter(p + "outbox_publish_failures", "Relay publish attempts that failed",
                                               registry=r)
        self.archived = Counter(p + "archived_documents", "Finished documents moved out of the working set",
                                ["collection"], registry=r)
        self.deidentified = Counter(p + "deidentified_documents",
                                    "Finished documents de-identified past PERSONAL_DATA_RETENTION_DAYS",
                                    ["collection"], registry=r)
        self.audit_records_dropped = Counter(p + "audit_records_dropped",
                                             "Audit records dropped past AUDIT_RETENTION_DAYS", registry=r)
        self.audit_records = Counter(p + "audit_records", "Audit records written for full-identity reads",
                                     ["via"], registry=r)
        self.overdue_notices = Counter(p + "overdue_notices", "Linkages on which this party was reported late",
                                       registry=r)
        self.case_overdue_notices = Counter(p + "case_overdue_notices",
                                            "Cases on which this party was reported late",
                                            ["limit"], registry=r)
        self.cases_reported = Counter(p + "cases_reported", "Cases this party reported",
                                      ["category"], registry=r)
        for limit in ("accept", "resolve"):
            self.case_overdue_notices.labels(limit)
        self.briefings_received = Counter(p + "briefings_received",
                                          "Daily briefings received from the committee", registry=r)
        if service == PROPERTY:
            self.detections = Counter(p + "detections", "Camera detections received",
                                      ["kind", "outcome"], registry=r)
            self.repairs = Counter(p + "repairs", "Repairs reported, by who must repair",
                                   ["responsible"], registry=r)
            self.warranty_overdue = Counter(p + "warranty_repairs_overdue",
                                            "Warranty repairs the developer was marked late on",
                                            ["limit"], registry=r)
        if service == DEVELOPER:
            self.handovers = Counter(p + "handovers", "Flats handed over", registry=r)
        if service == PROPERTY:
            self.occupants = Counter(p + "occupants_reported", "Occupants the property company reported",
                                     registry=r)
            self.unregistered_tenants = Counter(
                p + "unregistered_tenants", "Occupants no tenancy covered within the limit (a case)",
                registry=r)
        if service == FLOATING:
            self.tenancies = Counter(p + "tenancies_registered", "Tenancies registered", registry=r)
            self.tenancies_ended = Counter(p + "tenancies_ended", "Tenancies ended", registry=r)
            self.tenants_overdue = Counter(p + "tenants_overdue", "Parties marked late on a tenant",
                                           ["party"], registry=r)
        if service == COMMITTEE:
            self._committee_metrics(p, r)

    def _committee_metrics(self, p, r):
        self.registrations = Counter(p + "registrations", "Registrations accepted", registry=r)
        self.linkages_open = Gauge(p + "linkages_open", "Linkages not yet closed", registry=r)
        self.linkages_overdue = Gauge(p + "linkages_overdue", "Open linkages overdue at a party",
                                      ["party"], registry=r)
        self.party_overdue = Counter(p + "party_overdue", "Escalations of a late party", ["party"], registry=r)
        self.linkages_closed = Counter(p + "linkages_closed", "Linkages closed", registry=r)
        self.dispatch_latency = Histogram(p + "dispatch_latency_seconds",
                                          "Registration until all four parties recorded their part",
                                          buckets=LATENCY_BUCKETS, registry=r)
        self.traces = Counter(p + "traces", "Traces answered, by what was traced", ["kind"], registry=r)
        self.trace_parties_unreachable = Counter(
            p + "trace_parties_unreachable", "Parties that had not answered a trace in time",
            ["party"], registry=r)
        for party in LINKED:
            self.linkages_overdue.labels(party=party)
            self.party_overdue.labels(party=party)
            self.trace_parties_unreachable.labels(party=party)
        self._case_metrics(p, r)
        self.briefings = Counter(p + "briefings", "Daily briefings made, by the timer or on request",
                                 ["by"], registry=r)
        for by in ("timer", "request"):
            self.briefings.labels(by)

    def _case_metrics(self, p, r):
        """The case KPIs' counts as they happen (GET /api/v1/case-kpis has the rates)."""
        self.cases_filed = Counter(p + "cases_filed", "Cases filed", ["category", "priority"],
                                   registry=r)
        self.cases_dispatched = Counter(p + "cases_dispatched", "Assignments dispatched to a party",
                                        ["party", "priority"], registry=r)
        self.cases_accepted = Counter(p + "cases_accepted", "Assignments accepted",
                                      ["party", "on_time"], registry=r)
        self.cases_resolved = Counter(p + "cases_resolved", "Assignments resolved",
                                      ["party", "on_time"], registry=r)
        self.cases_returned = Counter(p + "cases_returned", "Assignments returned as not ours",
                                      ["party"], registry=r)
        self.cases_overdue = Counter(p + "cases_overdue", "Parties marked late on a case",
                                     ["party", "limit"], registry=r)
        self.cases_closed = Counter(p + "cases_closed", "Cases verified and closed", registry=r)
        self.cases_reopened = Counter(p + "cases_reopened", "Closed cases reopened by call-back",
                                      registry=r)
        self.cases_rated = Counter(p + "cases_rated", "Resident call-backs recorded",
                                   ["satisfaction"], registry=r)
        self.cases_escalated = Counter(p + "cases_escalated", "Cases escalated to the joint meeting",
                                       ["reason"], registry=r)
        self.cases_open = Gauge(p + "cases_open", "Cases not closed, by status", ["status"],
                                registry=r)
        for party in ALL:
            for limit in ("accept", "resolve"):
                self.cases_overdue.labels(party, limit)
            self.cases_returned.labels(party)
        for status in ("filed", "dispatched", "in_progress", "resolved"):
            self.cases_open.labels(status)
        for reason in ("returned_twice", "reopened", "past_twice_limit"):
            self.cases_escalated.labels(reason)

    def exposition(self):
        return generate_latest(self.registry)


def for_service(service):
    if service not in _BY_SERVICE:
        _BY_SERVICE[service] = Metrics(service)
    return _BY_SERVICE[service]
