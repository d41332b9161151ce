"""A person's rights (PIPL Arts. 44-47): the committee's correction and
erasure as plain functions, the catalogue's need-to-know for corrections, and
the parties' side against a fake repository."""
import copy
from datetime import datetime, timezone

import pytest

from services.neighborhood_committee import rights
from services.neighborhood_committee.schemas import CorrectionSchema
from shared import rights as party_rights
from shared.catalogue import CATALOGUE
from shared.events import Event
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.personal import Keyring, is_sealed
from shared.retention import Identity

NOW = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)


def linkage(local_hukou=False):
    return {"_id": "r1", "name": "Wang Fnag", "phone": "enc:v1:...", "local_hukou": local_hukou}


def plain(document):
    return dict(document, phone="13800138000")


# --- the committee ---------------------------------------------------------------

def test_a_name_correction_reaches_the_four_holders_and_a_phone_only_the_police_and_floating():
    document = linkage()
    asked = {"name": "Wang Fang", "phone": "13900139000", "reason": "misspelt at the desk"}
    changed = rights.correct(document, plain(document), asked, "sup", asked["reason"], NOW)
    assert changed == ["name", "phone"]
    events = rights.correction_events(document, asked, changed, NOW)
    assert sorted(rights.notified(events)) == sorted([POLICE, FLOATING, PROPERTY, DEVELOPER])
    by_party = {p.get("party"): (t, p) for t, p in events}
    assert by_party[POLICE][0] == by_party[FLOATING][0] == "returnee_details_corrected"
    assert by_party[POLICE][1]["phone"] == by_party[FLOATING][1]["phone"] == "13900139000"
    assert by_party[None] == ("returnee_name_corrected", {"returnee_id": "r1", "corrected_at": NOW,
                                                          "name": "Wang Fang"})
    for event_type, payload in events:
        CATALOGUE.new_event(event_type, payload, "r1")  # each valid as built


def test_a_phone_correction_reaches_the_police_alone_for_a_local_person():
    document = linkage(local_hukou=True)
    asked = {"phone": "13900139000", "reason": "wrong number"}
    changed = rights.correct(document, plain(document), asked, "sup", asked["reason"], NOW)
    events = rights.correction_events(document, asked, changed, NOW)
    assert rights.notified(events) == [POLICE]
    assert events[0][1]["phone"] == "13900139000" and "name" not in events[0][1]


def test_the_history_names_fields_not_values():
    document = linkage()
    asked = {"name": "Wang Fang", "phone": "13800138000", "reason": "typo"}
    changed = rights.correct(document, plain(document), asked, "sup", "typo", NOW)
    assert changed == ["name"]  # the phone is what is registered already
    assert document["corrections"] == [{"at": NOW, "by": "sup", "fields": ["name"], "reason": "typo"}]
    assert "Wang Fang" not in repr(document["corrections"])
    assert "Wang Fnag" not in repr(document["corrections"])


def test_nothing_different_is_nothing_to_correct():
    document = linkage()
    with pytest.raises(rights.NothingToCorrect):
        rights.correct(document, plain(document), {"name": "Wang Fnag"}, "sup", "x", NOW)
    assert "corrections" not in document


def test_an_erasure_waits_for_every_holder_and_records_each_answer_once():
    erasure = rights.new_erasure(linkage(local_hukou=True), "sup", "asked in person", NOW, "")
    assert erasure["parties"][COMMITTEE]["status"] == "erased"
    assert FLOATING not in erasure["parties"]
    assert {erasure["parties"][p]["status"] for p in (POLICE, PROPERTY, DEVELOPER)} == {"pending"}
    assert rights.record_answer(erasure, POLICE, "held", "court order 12", NOW)
    assert not rights.record_answer(erasure, POLICE, "erased", None, NOW)  # not news
    assert not rights.record_answer(erasure, FLOATING, "erased", None, NOW)  # never asked
    assert erasure["parties"][POLICE] == {"status": "held", "at": NOW, "hold_reason": "court order 12"}


def test_a_committee_hold_is_its_own_answer():
    erasure = rights.new_erasure(linkage(), "sup", "asked", NOW, "investigation 7")
    assert erasure["parties"][COMMITTEE] == {"status": "held", "at": NOW,
                                             "hold_reason": "investigation 7"}


@pytest.mark.parametrize("body,fields", [
    ({"reason": "typo"}, ["name", "phone"]),
    ({"name": "  ", "reason": "typo"}, ["name"]),
    ({"name": "x" * 51, "reason": "typo"}, ["name"]),
    ({"phone": "12345", "reason": "typo"}, ["phone"]),
    ({"name": "Li"}, ["reason"]),
    ({"name": "Li", "reason": "r" * 201}, ["reason"]),
])
def test_a_bad_correction_names_its_fields(body, fields):
    errors = CorrectionSchema().validate(body)
    assert sorted(errors) == fields


def test_a_name_is_stored_stripped():
    assert CorrectionSchema().load({"name": " Li Lei ", "reason": "r"})["name"] == "Li Lei"


# --- the catalogue's need-to-know ------------------------------------------------------

def corrected(party, **fields):
    return dict({"returnee_id": "r1", "party": party, "corrected_at": NOW}, **fields)


def test_a_phone_correction_cannot_be_addressed_to_a_party_without_the_phone():
    for party in (PROPERTY, DEVELOPER):
        with pytest.raises(ValueError, match="party"):
            CATALOGUE.new_event("returnee_details_corrected", corrected(party, phone="13900139000"),
                                "r1")
    envelope = CATALOGUE.new_event("returnee_details_corrected", corrected(POLICE, phone="13900139000"),
                                   "r1")
    assert CATALOGUE.routing_key(envelope) == "returnee_details_corrected.community_police"
    name_only = CATALOGUE.new_event("returnee_name_corrected", {
        "returnee_id": "r1", "name": "Li", "corrected_at": NOW, "phone": "13900139000"}, "r1")
    assert "phone" not in name_only["payload"]  # its schema has none: it never leaves


def test_the_phone_travels_encrypted():
    transit = CATALOGUE.with_transit(Keyring((("t1", b"k" * 32),)))
    envelope = transit.new_event("returnee_details_corrected",
                                 corrected(FLOATING, name="Li", phone="13900139000"), "r1")
    assert is_sealed(envelope["payload"]["phone"]) and envelope["payload"]["name"] == "Li"
    assert transit.load(envelope).payload["phone"] == "13900139000"


# --- the parties' side, on a fake repository ---------------------------------------------

class FakeRepository:
    """modify_anywhere on dicts; `personal` seals as the real one does on write."""
    service = PROPERTY
    RETAINED = {"passes": Identity(texts=("steward_notice.text",))}
    personal = Keyring((("k1", b"p" * 32),), blind_key=b"b" * 32)

    def __init__(self, documents):
        self.documents = documents
        self.sent = []

    def opened(self, collection, document):
        return self.personal.open_fields(document, ("phone",))

    def event(self, event_type, payload, correlation_id):
        self.sent.append((event_type, payload))
        return {"event_id": "e-%d" % len(self.sent)}

    def modify_anywhere(self, collection, document_id, decide, event_id=None):
        current = self.documents.get(document_id)
        if current is None:
            return None
        if event_id in current.setdefault("applied_events", []):
            return current
        changed = copy.deepcopy(current)
        if decide(changed) is None:
            return current
        changed["applied_events"].append(event_id)
        self.documents[document_id] = changed
        return changed


def gate_pass():
    return {"_id": "r1", "name": "Wang Fnag",
            "steward_notice": {"text": "Wang Fnag arrives at 3-2-301; gate pass held."}}


def event(event_type, payload, event_id="ev1"):
    return Event(event_id, event_type, COMMITTEE, 1, NOW, "r1", dict(payload, returnee_id="r1"))


def test_a_correction_keeps_the_stewards_notice_consistent_and_applies_once():
    repo = FakeRepository({"r1": gate_pass()})
    party_rights.apply_correction(repo, "passes", event("returnee_details_corrected",
                                                        {"name": "Wang Fang"}))
    once = copy.deepcopy(repo.documents["r1"])
    assert once["name"] == "Wang Fang"
    assert once["steward_notice"]["text"] == "Wang Fang arrives at 3-2-301; gate pass held."
    repo.documents["r1"]["name"] = "changed since"  # a second delivery must not write again
    party_rights.apply_correction(repo, "passes", event("returnee_details_corrected",
                                                        {"name": "Wang Fang"}))
    assert repo.documents["r1"]["name"] == "changed since"


def test_a_correction_leaves_a_deidentified_record_alone_and_waits_for_a_missing_one():
    repo = FakeRepository({"r1": dict(gate_pass(), name="W. Fnag", deidentified_at=NOW)})
    party_rights.apply_correction(repo, "passes", event("returnee_details_corrected",
                                                        {"name": "Wang Fang"}))
    assert repo.documents["r1"]["name"] == "W. Fnag"
    with pytest.raises(LookupError):
        party_rights.apply_correction(FakeRepository({}), "passes",
                                      event("returnee_details_corrected", {"name": "X"}))


def test_an_erasure_deidentifies_and_answers_or_is_held_with_the_reason():
    repo = FakeRepository({"r1": gate_pass()})
    assert party_rights.answer_erasure(repo, "passes", event("returnee_erasure_requested", {}),
                                       "") == "erased"
    assert repo.documents["r1"]["name"] == "W. Fnag"
    assert "Wang Fnag" not in repo.documents["r1"]["steward_notice"]["text"]
    assert repo.sent[-1][1]["outcome"] == "erased" and repo.sent[-1][1]["hold_reason"] is None

    held = FakeRepository({"r1": gate_pass()})
    assert party_rights.answer_erasure(held, "passes", event("returnee_erasure_requested", {}),
                                       "court order 12") == "held"
    assert held.documents["r1"]["name"] == "Wang Fnag"
    assert held.sent[-1][1]["outcome"] == "held"
    assert held.sent[-1][1]["hold_reason"] == "court order 12"


# --- the setting -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["court order 12: until the trial ends", "2026", "", "yes"])
def test_a_legal_hold_is_read_from_the_environment_as_written(monkeypatch, text):
    """nameko reads `${VAR}` as YAML: "a: b" would become a mapping, "2026" a
    number; the setting is read raw, so the committee shows what was set."""
    from pathlib import Path

    from shared.runner import load_config
    from shared.settings import Settings
    monkeypatch.setenv("LEGAL_HOLD", text)
    config = load_config(str(Path(__file__).resolve().parents[2] / "shared" / "nameko.yaml"))
    assert Settings.from_config(POLICE, config).legal_hold == text
