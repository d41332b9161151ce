"""End to end: a party that does not act within its time limit is marked
overdue and told; a party whose service is down while registrations arrive
gets its tasks when it comes back, and the linkage completes."""
import re

import pytest
import requests

from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.e2e.test_returnee_linkage import first, register
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow


def apis_for(system):
    return {name: Api(url, name) for name, url in system.urls.items()}


def committee_metric(system, name, party):
    text = requests.get(system.url(COMMITTEE) + "/metrics", timeout=5).text
    match = re.search(r'^%s\{party="%s"\} ([0-9.e+-]+)$' % (name, party), text, re.M)
    return float(match.group(1)) if match else 0.0


def test_the_police_idle_past_their_limit_are_marked_overdue_and_notified(mongo_client):
    with System(LIMIT_COMMUNITY_POLICE_SECONDS=2, OVERDUE_SCAN_SECONDS=0.5) as system:
        system.start()
        try:
            apis = apis_for(system)
            returnee_id = register(apis, registration(local_hukou=False))
            late = wait_for(lambda: (lambda l: l if l["overdue"] else None)(
                apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()),
                "the committee to mark the police overdue")
            assert late["overdue"] == [POLICE]
            assert late["parties"][POLICE]["overdue_at"] is not None
            assert late["status"] == "open"

            review = apis[COMMITTEE].get("/api/v1/returnees", status="open", overdue="true").json()
            assert [item["id"] for item in review["items"]] == [returnee_id]
            assert apis[COMMITTEE].get("/api/v1/returnees", status="open", overdue="true",
                                       party=DEVELOPER).json()["items"] == []

            notified = wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id,
                                                               overdue="true")),
                                "the police to receive the overdue notice")
            assert notified["overdue_notified_at"] is not None
            assert committee_metric(system, "neighborhood_committee_party_overdue_total", POLICE) == 1
            wait_for(lambda: committee_metric(system, "neighborhood_committee_linkages_overdue",
                                              POLICE) == 1, "the overdue gauge")

            # Acting late still closes the linkage, and the escalation is not repeated.
            response = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                                         {"outcome": "cleared", "note": "late but fine"})
            assert response.status_code == 200
            wait_for(lambda: apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id)
                     .json()["status"] == "closed", "the linkage to close")
            assert committee_metric(system, "neighborhood_committee_party_overdue_total", POLICE) == 1
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def test_a_party_down_during_registration_gets_its_task_when_it_returns(mongo_client):
    with System() as system:
        system.start(COMMITTEE, POLICE, FLOATING, DEVELOPER)
        try:
            apis = apis_for(system)
            returnee_id = register(apis, registration(local_hukou=False))
            waiting = wait_for(lambda: (lambda l: l if l["parties"][POLICE]["status"] == "pending"
                                        else None)(
                apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()),
                "the parties that are up to act")
            assert waiting["parties"][PROPERTY]["status"] == "awaiting"
            assert waiting["dispatched_at"] is None

            decision = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                                         {"outcome": "cleared", "note": "ok"})
            assert decision.status_code == 200

            system.start(PROPERTY)  # the property company comes back
            gate_pass = wait_for(lambda: (lambda p: p if p and p["status"] == "issued" else None)(
                first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id))),
                "the returning property company to hold and then issue the pass")
            assert gate_pass["steward_notice"]["text"]
            closed = wait_for(lambda: (lambda l: l if l["status"] == "closed" else None)(
                apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()),
                "the linkage to close")
            assert closed["dispatched_at"] is not None
        finally:
            system.stop()
            system.drop_databases(mongo_client)
