"""The checker: every accepted registration, at every party, delivered
exactly once, lost, or duplicated.

It reads each party's own database (the police's `checks`, the property
company's `gate_passes`, the developer's `housing_checks`, the floating
office's `registrations` for non-local people, the committee's `linkages`)
and the tap's copy of every published event (faults/tap.py). For each
registration the desk saw accepted (a 201, first time or on a retry with
the same key), and each party:

- **lost**: the party's record is missing, or a step the flow made did not
  reach it (the police decided, the pass is still held), or no event
  announced its part; at the committee: no linkage, or not closed with every
  party done;
- **duplicated**: one fact announced by two distinct events (a party acted
  twice), an event id applied twice to a document, or the committee applying
  more events than the registration causes;
- **once**: neither.

Records nobody registered (`unexpected`) count against the run too. Overdue
notices are accounted per party and deadline: each deadline the committee
marked passed has exactly one notice, published and applied once at the
party, and no deadline that was not marked has one.
"""
from collections import Counter

from shared.parties import COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY

RECORDS = {POLICE: "checks", PROPERTY: "gate_passes", DEVELOPER: "housing_checks",
           FLOATING: "registrations", COMMITTEE: "linkages"}
# The facts each party announces once per registration: (event types, when due).
FACTS = {
    POLICE: [(("identity_check_opened",), "always"), (("identity_check_completed",), "decided")],
    PROPERTY: [(("gate_pass_held",), "always"), (("gate_pass_issued", "gate_pass_refused"), "decided")],
    DEVELOPER: [(("housing_allocation_checked",), "always")],
    FLOATING: [(("non_local_arrival_recorded",), "always")],
    COMMITTEE: [(("returnee_registered",), "always"), (("returnee_housing_declared",), "always"),
                (("non_local_returnee_registered",), "non_local")],
}
PASS_FOR = {"cleared": "issued", "flagged": "refused"}


def _repeated(ids):
    return any(count > 1 for count in Counter(ids or ()).values())


class Ledger:
    def __init__(self, client, registrations, published):
        """`registrations`: the flow's; `published`: a tap.Published."""
        self.client = client
        self.accepted = {r.returnee_id: r for r in registrations if r.returnee_id}
        self.published = published
        self.docs = {party: {doc["_id"]: doc for doc in client[party][name].find()}
                     for party, name in RECORDS.items()}

    def expected(self, party):
        if party == FLOATING:
            return [i for i, r in self.accepted.items() if not r.body["local_hukou"]]
        return list(self.accepted)

    def _facts_due(self, party, registration):
        decided = bool(registration.decided)
        for types, when in FACTS[party]:
            if when == "always" or (when == "decided" and decided) or \
                    (when == "non_local" and not registration.body["local_hukou"]):
                yield types

    def check(self, party, returnee_id):
        """(lost, duplicated, why) of one registration at one party."""
        registration = self.accepted[returnee_id]
        doc = self.docs[party].get(returnee_id)
        why = []
        if doc is None:
            why.append("no %s record" % RECORDS[party])
        duplicated = doc is not None and _repeated(doc.get("applied_events"))
        for types in self._facts_due(party, registration):
            count = self.published.distinct(returnee_id, *types)
            if count == 0:
                why.append("no %s published" % "|".join(types))
            duplicated |= count > 1
        if doc is not None:
            why += self._state(party, registration, doc)
            if party == COMMITTEE:
                causes = 5 if registration.body["local_hukou"] else 6
                duplicated |= len(set(doc.get("applied_events") or ())) > causes
        return bool(why), duplicated, why

    def _state(self, party, registration, doc):
        police = self.docs[POLICE].get(registration.returnee_id) or {}
        if party == POLICE and registration.decided and doc["status"] == "pending":
            return ["the police decided, the check is still pending"]
        if party == PROPERTY and police.get("status") in PASS_FOR and \
                doc["status"] != PASS_FOR[police["status"]]:
            return ["the police %s, the pass is %s" % (police["status"], doc["status"])]
        if party == COMMITTEE:
            undone = [p for p, task in doc["parties"].items() if not task["done"]]
            if doc["status"] != "closed" or undone:
                return ["linkage %s, not done: %s" % (doc["status"], ", ".join(undone) or "-")]
        return []

    def rows(self):
        """Per party: expected, once, lost, duplicated, unexpected, and a few examples."""
        rows = {}
        for party in (COMMITTEE, POLICE, FLOATING, PROPERTY, DEVELOPER):
            expected = self.expected(party)
            lost = duplicated = 0
            examples = []
            for returnee_id in expected:
                is_lost, is_duplicated, why = self.check(party, returnee_id)
                lost += is_lost
                duplicated += is_duplicated
                if (is_lost or is_duplicated) and len(examples) < 5:
                    examples.append({"returnee_id": returnee_id, "lost": why,
                                     "duplicated": is_duplicated})
            wanted = set(expected)
            unexpected = [i for i in self.docs[party] if i not in wanted]
            rows[party] = {"expected": len(expected), "lost": lost, "duplicated": duplicated,
                           "once": sum(1 for i in expected if not any(self.check(party, i)[:2])),
                           "unexpected": len(unexpected), "examples": examples}
        return rows

    def overdue(self):
        """Deadlines the committee marked passed, and the notices about them."""
        notices = self.published.overdue_ids()
        result = Counter()
        examples = []
        for returnee_id in self.accepted:
            linkage = self.docs[COMMITTEE].get(returnee_id)
            if linkage is None:
                continue
            for party in LINKED:
                marked = linkage["parties"][party].get("overdue")
                published = self.published.overdue.get((returnee_id, party), set())
                record = self.docs[party].get(returnee_id) or {}
                applied = [e for e in record.get("applied_events") or () if e in notices]
                result["deadlines_passed"] += bool(marked)
                if marked and len(published) == 1 and len(applied) == 1:
                    result["notices_once"] += 1
                elif marked and (not published or not applied):
                    result["notices_lost"] += 1
                elif len(published) > 1 or len(applied) > 1:
                    result["notices_duplicated"] += 1
                elif published and not marked:
                    result["notices_unmarked"] += 1
                else:
                    continue
                if (len(published) > 1 or len(applied) > 1 or (marked and not applied)) \
                        and len(examples) < 5:
                    examples.append({"returnee_id": returnee_id, "party": party,
                                     "published": len(published), "applied": len(applied)})
        return dict(result, examples=examples)


def verdict(rows, overdue):
    bad = sum(row["lost"] + row["duplicated"] + row["unexpected"] for row in rows.values())
    bad += overdue.get("notices_lost", 0) + overdue.get("notices_duplicated", 0) + \
        overdue.get("notices_unmarked", 0)
    return bad == 0
