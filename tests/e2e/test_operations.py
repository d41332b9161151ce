"""End to end, as an operator: dead letters listed, inspected and replayed
with the `linkage` command, and one linkage followed through all five logs."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from shared import clock
from shared.catalogue import CATALOGUE
from shared.identity import make_id_number
from shared.parties import ALL, COMMITTEE, POLICE
from tests.e2e.test_returnee_linkage import first, register
from tests.support import Api, publishing_connection, registration, wait_for

pytestmark = pytest.mark.slow


def linkage_cli(system, *args):
    command = [os.path.join(os.path.dirname(sys.executable), "linkage"), *args]
    env = dict(os.environ, AMQP_URI=system.amqp_uri)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def publish(system, event_type, payload, correlation_id):
    envelope = CATALOGUE.new_event(event_type, payload, correlation_id)
    with publishing_connection(system.amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            envelope, exchange="%s.events" % envelope["producer"], routing_key=event_type)
    return envelope


def test_a_dead_letter_is_listed_shown_and_replayed_to_one_effect(system):
    from datetime import date
    police = Api(system.url(POLICE), POLICE)
    returnee_id = "ops-%s" % uuid.uuid4().hex[:8]
    # An overdue notice for a check the police do not have: retried, then dead-lettered.
    notice = publish(system, "linkage_party_overdue", {
        "returnee_id": returnee_id, "party": POLICE, "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, returnee_id)
    listing = wait_for(lambda: (lambda out: out if notice["event_id"] in out else None)(
        linkage_cli(system, "dead-letters", "list", "--service", POLICE)),
        "the notice to be dead-lettered after its retries")
    assert "retries_exhausted" in listing
    assert "community_police.linkage_party_overdue" in listing
    shown = json.loads(linkage_cli(system, "dead-letters", "show", notice["event_id"],
                                   "--service", POLICE))
    assert shown["attempts"] == 5 and "LookupError" in shown["error"]
    assert shown["body"]["payload"]["returnee_id"] == returnee_id

    # The check arrives after all (its registration was late); replay the notice.
    publish(system, "returnee_registered", {
        "returnee_id": returnee_id, "name": "Ma Li",
        "id_number": make_id_number("310101", date(1975, 6, 1), 77), "phone": "13700000000",
        "address": {"building": "1", "unit": "1", "room": "101"}, "origin": "Shanghai",
        "arrival_date": date.today(), "local_hukou": True, "registered_at": clock.utcnow()},
        returnee_id)
    wait_for(lambda: first(police.get("/api/v1/checks", returnee_id=returnee_id)), "the check")
    assert "replayed 1" in linkage_cli(system, "dead-letters", "replay", notice["event_id"],
                                       "--service", POLICE)
    check = wait_for(lambda: (lambda c: c if c["overdue"] else None)(
        first(police.get("/api/v1/checks", returnee_id=returnee_id))), "the replayed notice")
    assert check["overdue_notified_at"] is not None
    assert notice["event_id"] not in linkage_cli(system, "dead-letters", "list", "--service", POLICE)
    # Replaying everything again finds nothing to do.
    assert "replayed 0" in linkage_cli(system, "dead-letters", "replay", "--all", "--service", POLICE)


def test_one_linkage_can_be_followed_through_all_five_logs(system):
    apis = {name: Api(url, name) for name, url in system.urls.items()}
    returnee_id = register(apis, registration(local_hukou=False))
    wait_for(lambda: apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()["dispatched_at"],
             "every party to act")
    for service in ALL:
        lines = [json.loads(line) for line in system.log(service).splitlines()
                 if line.startswith("{") and returnee_id in line]
        assert lines, "no log line of %s names the linkage" % service
        assert all(line["correlation_id"] == returnee_id for line in lines
                   if line.get("msg") == "event handled"), service
