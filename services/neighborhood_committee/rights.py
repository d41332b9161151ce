"""A person's rights on a linkage (PIPL Arts. 44-47), as the committee sees
them: plain Python, no framework.

A correction changes the registered name and/or phone and tells each party
that holds the field, need-to-know as at registration: the name to all four
that hold the person's record, the phone to the police and (only for a
non-local person, the only ones it holds) the floating-population office.
The linkage keeps a history of corrections that names the fields, not the
values, old or new.

An erasure asks every holder to de-identify its record; each answers
`erased`, or `held` with its legal hold's reason. The committee's own part
is decided at once (its own LEGAL_HOLD).
"""
from shared.catalogue import PHONE_HOLDERS
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, LINKED, PROPERTY

CORRECTABLE = ("name", "phone")
NAME_ONLY = (PROPERTY, DEVELOPER)  # `returnee_name_corrected` reaches both


class NothingToCorrect(Exception):
    """Every field asked for already holds that value."""


def holders(linkage):
    """The parties that hold a record of the person."""
    return [party for party in LINKED if party != FLOATING or not linkage["local_hukou"]]


def correct(linkage, plain, asked, by, reason, now):
    """Write the fields of `asked` that differ from the `plain` linkage into
    `linkage` (as stored: a phone goes in plain and is sealed on write) and
    append the correction to its history; the fields changed.
    NothingToCorrect if none differs."""
    changed = [name for name in CORRECTABLE if name in asked and asked[name] != plain.get(name)]
    if not changed:
        raise NothingToCorrect(", ".join(name for name in CORRECTABLE if name in asked))
    for name in changed:
        linkage[name] = asked[name]
    linkage.setdefault("corrections", []).append(
        {"at": now, "by": by, "fields": changed, "reason": reason})
    return changed


def correction_events(linkage, asked, changed, now):
    """(event type, payload) per party that holds a changed field, with
    only those fields: the police and the floating office (non-local only)
    hold name and phone, the property company and the developer the name."""
    events = []
    for party in holders(linkage):
        fields = [name for name in changed if name == "name" or party in PHONE_HOLDERS]
        if not fields:
            continue
        payload = {"returnee_id": linkage["_id"], "corrected_at": now}
        payload.update({name: asked[name] for name in fields})
        if party in PHONE_HOLDERS:
            events.append(("returnee_details_corrected", dict(payload, party=party)))
        elif party == PROPERTY:  # one event reaches the property company and the developer
            events.append(("returnee_name_corrected", payload))
    return events


def notified(events):
    """The parties the correction's events reach."""
    parties = []
    for event_type, payload in events:
        parties += [payload["party"]] if "party" in payload else list(NAME_ONLY)
    return parties


def new_erasure(linkage, by, reason, now, legal_hold):
    """The erasure record: the committee's own answer now, every holder pending."""
    parties = {party: {"status": "pending", "at": None, "hold_reason": None}
               for party in holders(linkage)}
    parties[COMMITTEE] = {"status": "held" if legal_hold else "erased", "at": now,
                          "hold_reason": legal_hold or None}
    return {"requested_at": now, "requested_by": by, "reason": reason, "parties": parties}


def record_answer(erasure, party, outcome, hold_reason, at):
    """A party's answer on a pending erasure; False when it is not news."""
    state = (erasure or {}).get("parties", {}).get(party)
    if state is None or state["status"] != "pending":
        return False
    state.update(status=outcome, at=at, hold_reason=hold_reason)
    return True
