"""The committee's daily briefing and monthly joint-meeting report.

    POST /api/v1/briefings                  {"date": "2026-11-30"}: make that day's now (201), or the one made (200)
    GET  /api/v1/briefings?from=&to=        the briefings made, newest first
    GET  /api/v1/briefings/{date}           the whole briefing (JSON)
    GET  /api/v1/briefings/{date}/print     the same, a Chinese page for A4
    GET  /api/v1/reports/monthly/{yyyy-mm}  each party's KPIs against the month before, top
                                            categories and places, escalated items still open
    GET  /api/v1/reports/monthly/{yyyy-mm}/print   the same with its charts (SVG), for A4

A timer looks every BRIEFING_SCAN_SECONDS (and at start) whether the day's
briefing is due (BRIEFING_TIME in BRIEFING_TZ) and missing, and makes it:
after downtime the missed day is made up once, when the committee is back.
The briefing and its `briefing_published` events (one per party, its own
part) are one insert keyed by the date: made once, whichever replica or
request gets there first.
"""
import logging
from datetime import date, datetime

from shared import clock
from shared.briefing_events import BriefingSchema
from shared.errors import NotFound, ValidationFailed
from shared.parties import LINKED
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.neighborhood_committee import briefing as domain
from services.neighborhood_committee import monthly, printing
from services.neighborhood_committee.briefing_repository import BriefingRepository
from services.neighborhood_committee.briefing_schemas import (BriefingQuery, BriefingSummarySchema,
                                                              GenerateSchema, MonthlySchema)

log = logging.getLogger(__name__)

BRIEFING = BriefingSchema()
SUMMARY = BriefingSummarySchema()
GENERATE = GenerateSchema()
MONTHLY = MonthlySchema()


def _day(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.from_messages({"date": ["must be a date, YYYY-MM-DD"]})


def _month(text):
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValidationFailed.from_messages({"month": ["must be a month, YYYY-MM"]})
    if not 2000 <= first.year <= 2999:
        raise ValidationFailed.from_messages({"month": ["must be a month from 2000 to 2999"]})
    return first


class Briefings:
    briefings = Store(BriefingRepository)

    # --- making one ------------------------------------------------------------------

    @every("BRIEFING_SCAN_SECONDS", eager=True)
    def brief_daily(self):
        """Make the latest due day's briefing if it is missing."""
        settings = self.infra.settings
        now = clock.utcnow()
        day = domain.due_date(now, settings.briefing_time, settings.briefing_tz)
        if self.briefings.get(day) is None:
            self._make(day, now, "timer")

    def _make(self, day, now, by):
        """The day's briefing, made now unless it was already: (briefing, made now)."""
        settings = self.infra.settings
        at, zone = settings.briefing_time, settings.briefing_tz
        start, end = domain.period(day, at, zone)
        made = domain.build(day, at, zone, now, self.briefings.current(start, end),
                            self.briefings.came_in(domain.history_start(day, at, zone), end))
        made["generated_by"] = by
        events = [self.briefings.event("briefing_published", domain.part_for(made, party),
                                       "briefing-%s" % made["date"]) for party in LINKED]
        if self.briefings.publish(made, events):
            self.infra.metrics.briefings.labels(by if by == "timer" else "request").inc()
            log.info("briefing made", extra={"correlation_id": "briefing-%s" % made["date"],
                                             "fields": {"date": made["date"], "by": by}})
            return made, True
        return self.briefings.get(day), False

    @api("POST", "/api/v1/briefings", permission="briefings:generate", body=GENERATE,
         responses={201: BRIEFING, 200: BRIEFING},
         summary="Make a day's briefing now (a missed day made up); 200 if it was made")
    def generate_briefing(self, request):
        settings = self.infra.settings
        day = request.data["date"]
        now = clock.utcnow()
        latest = domain.due_date(now, settings.briefing_time, settings.briefing_tz)
        if day > latest:
            raise ValidationFailed.from_messages({"date": [
                "the briefing for %s is due at %s %s; the latest one due now is %s" % (
                    day, settings.briefing_time.strftime("%H:%M"), settings.briefing_tz, latest)]})
        made = self.briefings.get(day)
        now_made = False
        if made is None:  # else answer with the one made (nothing is made twice)
            made, now_made = self._make(day, now, request.principal.subject)
        return (201 if now_made else 200), BRIEFING.dump(made), {
            "Location": "/api/v1/briefings/%s" % made["date"]}

    # --- reading ---------------------------------------------------------------------

    @api("GET", "/api/v1/briefings", permission="briefings:read", query=BriefingQuery(),
         responses={200: Page(SUMMARY)}, summary="The briefings made, newest first")
    def list_briefings(self, request):
        found = self.briefings.search(**request.query)
        return page(SUMMARY.dump(found.items, many=True), found, request.query)

    @api("GET", "/api/v1/briefings/<string:day>", permission="briefings:read",
         responses={200: BRIEFING, 422: None}, summary="A day's briefing")
    def get_briefing(self, request, day):
        return BRIEFING.dump(self._briefing(day))

    @api("GET", "/api/v1/briefings/<string:day>/print", permission="briefings:read",
         responses={200: "text/html", 422: None}, summary="A day's briefing as a page to print on A4")
    def print_briefing(self, request, day):
        return printing.html_response(printing.briefing_page(BRIEFING.dump(self._briefing(day))))

    def _briefing(self, day):
        found = self.briefings.get(_day(day))
        if found is None:
            raise NotFound("no briefing for %s" % day)
        return found

    # --- the month -------------------------------------------------------------------

    def _report(self, month):
        settings = self.infra.settings
        first = _month(month)
        return monthly.report(first, settings.briefing_tz, clock.utcnow(), self.briefings)

    @api("GET", "/api/v1/reports/monthly/<string:month>", permission="reports:read",
         responses={200: MONTHLY, 422: None}, summary="The joint meeting's monthly report")
    def monthly_report(self, request, month):
        return MONTHLY.dump(self._report(month))

    @api("GET", "/api/v1/reports/monthly/<string:month>/print", permission="reports:read",
         responses={200: "text/html", 422: None}, summary="The monthly report with its charts, for A4")
    def print_monthly_report(self, request, month):
        return printing.html_response(printing.monthly_page(MONTHLY.dump(self._report(month))))

