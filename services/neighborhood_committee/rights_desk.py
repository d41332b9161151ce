"""A person's rights on their linkage (PIPL Arts. 44-47), at the committee:

    POST /api/v1/returnees/{id}/correction   a misspelt name or a wrong phone (200)
    POST /api/v1/people/erasure              erase a returnee's record everywhere (202)

Each change and the events that carry it to the other parties are one write
(the linkage's outbox), wherever the linkage is: working set or archive
(`Repository.modify_anywhere`). The parties' answers to an erasure come
back as `returnee_erasure_answered` and are shown on the linkage.
"""
from shared import clock, retention
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.web import api

from services.neighborhood_committee import rights
from services.neighborhood_committee.repository import LINKAGES
from services.neighborhood_committee.schemas import (CorrectedSchema, CorrectionSchema,
                                                     ErasureRequestSchema, ErasureStatusSchema)

CORRECTION = CorrectionSchema()
CORRECTED = CorrectedSchema()
ERASURE_REQUEST = ErasureRequestSchema()
ERASURE = ErasureStatusSchema()


class RightsDesk:
    """Mixed into the committee's service, whose `linkages` it works on."""

    @api("POST", "/api/v1/returnees/<string:returnee_id>/correction", permission="returnees:correct",
         body=CORRECTION, responses={200: CORRECTED, 409: None},
         summary="Correct a returnee's name or phone; each party holding it is told")
    def correct_returnee(self, request, returnee_id):
        asked, by, now = request.data, request.principal.subject, clock.utcnow()
        repo = self.linkages
        outcome = {}

        def decide(linkage):
            if linkage.get("deidentified_at") is not None:
                raise Conflict("returnee %s is de-identified: nothing to correct" % returnee_id)
            try:
                changed = rights.correct(linkage, repo.opened(LINKAGES, linkage), asked, by,
                                         asked["reason"], now)
            except rights.NothingToCorrect as exc:
                raise ValidationFailed.from_errors([
                    {"field": name, "reason": "is what is registered already"}
                    for name in str(exc).split(", ")])
            events = rights.correction_events(linkage, asked, changed, now)
            outcome.update(linkage["corrections"][-1], returnee_id=returnee_id,
                           notified=rights.notified(events))
            return [repo.event(event_type, payload, returnee_id) for event_type, payload in events]
        if repo.modify_anywhere(LINKAGES, returnee_id, decide) is None:
            raise NotFound("no returnee %s" % returnee_id)
        return CORRECTED.dump(outcome)

    @api("POST", "/api/v1/people/erasure", permission="people:erase", body=ERASURE_REQUEST,
         responses={200: ERASURE, 202: ERASURE, 404: None},
         summary="Erase a returnee's personal data at the committee and every party holding it")
    def erase_person(self, request):
        """202 with the new erasure; a second request for the same returnee
        changes and sends nothing and answers 200 with the erasure as it stands."""
        body, by, now = request.data, request.principal.subject, clock.utcnow()
        returnee_id = body["returnee_id"]
        repo, hold = self.linkages, self.infra.settings.legal_hold
        made = []

        def decide(linkage):
            if linkage.get("erasure"):
                return None
            linkage["erasure"] = rights.new_erasure(linkage, by, body["reason"], now, hold)
            if not hold:
                retention.deidentify(linkage, repo.opened(LINKAGES, linkage),
                                     repo.RETAINED[LINKAGES], repo.personal, now)
                linkage.pop("open_person", None)  # the person may register again
            made.append(True)
            return [repo.event("returnee_erasure_requested",
                               {"returnee_id": returnee_id, "party": party, "requested_at": now},
                               returnee_id)
                    for party in rights.holders(linkage)]
        linkage = repo.modify_anywhere(LINKAGES, returnee_id, decide)
        if linkage is None:
            raise NotFound("no returnee %s" % returnee_id)
        return (202 if made else 200), ERASURE.dump(dict(linkage["erasure"], returnee_id=returnee_id))

    @event_handler("returnee_erasure_answered")
    def on_returnee_erasure_answered(self, event):
        answer = event.payload

        def decide(linkage):
            # The producer is the party that answers (the payload cannot say otherwise).
            if not rights.record_answer(linkage.get("erasure"), event.producer, answer["outcome"],
                                        answer.get("hold_reason"), answer["at"]):
                return None
            return []
        if self.linkages.modify_anywhere(LINKAGES, answer["returnee_id"], decide,
                                         event.event_id) is None:
            raise LookupError("no linkage %s yet" % answer["returnee_id"])
