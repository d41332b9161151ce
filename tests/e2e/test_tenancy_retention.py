"""Retention of tenants' records, end to end (PIPL Art. 19, shared/retention.py):
once a tenancy ended and its retention ran out (test-short), every party's
record of its tenants is de-identified: the office's tenancy (the tenants'
names, ID numbers and phones, encrypted together) and registration, the
police's checks, the property company's access and the committee's
registry. The records stay, with their dates and outcomes."""
import json
from datetime import date

import pytest

from shared.identity import mask_id
from shared.parties import COMMITTEE, FLOATING, POLICE, PROPERTY
from shared.retention import deidentified_name, mask_phone
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

RETENTION_DAYS = 15 / 86400  # fifteen seconds
RECORDS = {FLOATING: ("tenancies", "registrations"), POLICE: ("checks",),
           PROPERTY: ("tenant_access",), COMMITTEE: ("tenants",)}


@pytest.fixture(scope="module")
def ended(mongo_client):
    """A tenancy of a non-local tenant, checked, cleared and ended, in a
    system whose retention is fifteen seconds."""
    with System(PERSONAL_DATA_RETENTION_DAYS=str(RETENTION_DAYS), RETENTION_SCAN_SECONDS="2") as system:
        system.start()
        try:
            apis = {name: Api(url, name) for name, url in system.urls.items()}
            person = registration(local_hukou=False, name="Jiang Tenant")
            tenant = {key: person[key] for key in ("name", "id_number", "phone", "local_hukou")}
            response = apis[FLOATING].post("/api/v1/tenancies", {
                "flat": {"building": "61", "unit": "1", "room": "101"}, "landlord": "Zhou Ming",
                "rooms": 1, "start_date": date.today().isoformat(), "tenants": [tenant]})
            assert response.status_code == 201, response.text
            tenancy = response.json()
            tenant_id = tenancy["tenants"][0]["id"]
            wait_for(lambda: apis[POLICE].get("/api/v1/checks/%s" % tenant_id).status_code == 200,
                     "the police check")
            wait_for(lambda: apis[COMMITTEE].get("/api/v1/tenants", flat="61-1-101").json()["items"],
                     "the committee's registry")
            decided = apis[POLICE].post("/api/v1/checks/%s/decision" % tenant_id,
                                        {"outcome": "cleared", "note": "identity verified"})
            assert decided.status_code == 200, decided.text
            wait_for(lambda: apis[PROPERTY].get("/api/v1/tenant-access", tenancy_id=tenancy["id"])
                     .json()["items"][0]["status"] == "issued", "the access issued")
            response = apis[FLOATING].post("/api/v1/tenancies/%s/end" % tenancy["id"], {})
            assert response.status_code == 200, response.text
            db = lambda service: mongo_client[system.db_prefix + service]  # noqa: E731
            wait_for(lambda: all(db(service)[name].find_one({"deidentified_at": {"$ne": None}})
                                 for service, names in RECORDS.items() for name in names),
                     "every party's record to be de-identified", timeout=90)
            yield tenant, tenancy, db
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def test_every_partys_record_of_a_tenant_is_de_identified_once_retention_ran_out(ended):
    tenant, tenancy, db = ended
    secrets = [tenant["name"], tenant["id_number"], tenant["phone"]]
    for service, names in RECORDS.items():
        for name in names:
            for document in db(service)[name].find():
                text = json.dumps(document, default=str, ensure_ascii=False).lower()
                assert document.get("deidentified_at"), (service, name)
                assert [secret for secret in secrets if secret.lower() in text] == [], (service, name)
                assert "enc:v1:" not in text, (service, name)  # no ciphertext of them left either


def test_the_records_stay_with_the_masked_identity(ended):
    tenant, tenancy, db = ended
    stored = db(FLOATING)["tenancies"].find_one({"_id": tenancy["id"]}) \
        or db(FLOATING)["tenancies_archive"].find_one({"_id": tenancy["id"]})
    assert stored["status"] == "ended"
    assert stored["tenants"][0]["name"] == deidentified_name(tenant["name"])
    assert stored["identities"][0]["id_number"] == mask_id(tenant["id_number"])
    assert stored["identities"][0]["phone"] == mask_phone(tenant["phone"])
    access = db(PROPERTY)["tenant_access"].find_one({"tenancy_id": tenancy["id"]}) \
        or db(PROPERTY)["tenant_access_archive"].find_one({"tenancy_id": tenancy["id"]})
    assert (access["status"], access["name"]) == ("ended", deidentified_name(tenant["name"]))
    registry = db(COMMITTEE)["tenants"].find_one({"tenancy_id": tenancy["id"]})
    assert (registry["status"], registry["id_masked"]) == ("ended", mask_id(tenant["id_number"]))
