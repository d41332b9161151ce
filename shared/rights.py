"""A person's rights at the parties that hold their record (PIPL Arts. 44-47):
the committee's correction and erasure events, applied by each of the four
parties to its own document of the returnee, wherever it is (working set or
archive: Repository.modify_anywhere).

Both are applied once per event (its id is recorded in the same write). A
correction leaves a de-identified record alone (nothing to correct); an
erasure de-identifies the record as retention does (shared/retention.py),
unless the party declares a legal hold (LEGAL_HOLD), and answers the
committee in the same write. An event whose record has not arrived yet
(another queue) is retried: LookupError, as `note_overdue` does.
"""
from shared import clock, retention


def apply_correction(repository, collection, event):
    """Write the corrected name and/or phone to the party's record (the phone
    sealed on write), and the name in any text that quotes it (the fields
    the collection's retention Identity names as `texts`). The record as
    written, or as it was when there was nothing to do."""
    corrected = event.payload
    texts = repository.RETAINED[collection].texts

    def decide(document):
        if document.get("deidentified_at") is not None:
            return None  # de-identified: no name or phone left to correct
        if "name" in corrected:
            old = document.get("name")
            document["name"] = corrected["name"]
            for path in texts:
                retention.replace_in_text(document, path, {old: corrected["name"]})
        if "phone" in corrected and "phone" in document:
            document["phone"] = corrected["phone"]  # plain here: `modify` seals it
        return []
    return _existing(repository.modify_anywhere(collection, corrected["returnee_id"], decide,
                                                event.event_id), corrected["returnee_id"])


def answer_erasure(repository, collection, event, legal_hold, now=None):
    """De-identify the party's record unless `legal_hold` (the reason) is
    set, and tell the committee which, in the same write. The outcome:
    "erased" or "held"."""
    requested = event.payload
    outcome = {}

    def decide(document):
        at = now or clock.utcnow()
        if legal_hold:
            outcome["value"] = "held"
        else:
            retention.deidentify(document, repository.opened(collection, document),
                                 repository.RETAINED[collection], repository.personal, at)
            outcome["value"] = "erased"
        return [repository.event("returnee_erasure_answered", {
            "returnee_id": requested["returnee_id"], "party": repository.service,
            "outcome": outcome["value"], "hold_reason": legal_hold or None, "at": at,
        }, requested["returnee_id"])]
    _existing(repository.modify_anywhere(collection, requested["returnee_id"], decide,
                                         event.event_id), requested["returnee_id"])
    return outcome.get("value")


def _existing(document, returnee_id):
    if document is None:
        # The party's record is still on its way (another queue): try later.
        raise LookupError("no record of %s yet" % returnee_id)
    return document

