"""A linked party's copy of its part of the committee's daily briefing
(`briefing_published`, addressed to it alone): stored once per briefing
date, and shown to its staff at `GET /api/v1/briefings/latest`, so they see
their own late items, pending registrations and decisions without asking
the committee."""
import pymongo

from shared import clock
from shared.briefing_events import BriefingPublished
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.retention import Identity
from shared.store import Finished, Repository, Store, insert_once
from shared.web import api

BRIEFINGS = "briefings"
LATEST = BriefingPublished()


class OwnBriefingRepository(Repository):
    # Past the retention, each name in its items is reduced; the counts stay.
    RETAINED = {BRIEFINGS: Identity(
        names=(), named=("overdue", "red", "pending", "decisions"), since="received_at",
        finished=Finished(since="received_at"),
        purpose="this party's part of the daily briefing: the items it had to act on")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[BRIEFINGS].create_index("briefing_date")

    def keep(self, part, event_id):
        """Store a briefing's part once (a redelivery hits the date's `_id`)."""
        return insert_once(self, BRIEFINGS, dict(part, _id=part["briefing_date"],
                                                 received_at=clock.utcnow(), source_event_id=event_id))

    def latest(self):
        return next(iter(self.db[BRIEFINGS].find().sort("briefing_date", pymongo.DESCENDING).limit(1)),
                    None)


class PartyBriefings:
    own_briefings = Store(OwnBriefingRepository)

    @event_handler("briefing_published")
    def on_briefing_published(self, event):
        if self.own_briefings.keep(event.payload, event.event_id):
            self.infra.metrics.briefings_received.inc()

    @api("GET", "/api/v1/briefings/latest", permission="briefings:read",
         responses={200: LATEST}, summary="This party's part of the latest daily briefing")
    def latest_briefing(self, request):
        found = self.own_briefings.latest()
        if found is None:
            raise NotFound("no briefing has reached %s yet" % self.name)
        return LATEST.dump(found)
