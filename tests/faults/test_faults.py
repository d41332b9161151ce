"""The fault-injection scenarios in their quick mode (`python -m faults
--quick`), each on a private stack of its own; and the ledger's checker on
records made up to be lost or duplicated.

`make test` runs the checker and the two scenarios that take about a minute
each (IN_MAKE_TEST: a consumer killed, a producer killed before its relay
published), both at once. The others run with LINKAGE_FAULTS=1; LINKAGE_FAULTS=0 skips
every scenario:

    LINKAGE_FAULTS=1 .venv/bin/python -m pytest tests/faults -v

Each scenario runs as `python -m faults` in a child process: its load
generator uses threads and plain sockets, which the eventlet monkey-patching
of tests/conftest.py must not touch.
"""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from faults.ledger import Ledger, verdict
from faults.tap import Published
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY

REPO = Path(__file__).resolve().parents[2]
# Seconds each took here in quick mode (2 cores): 71, 128, 72, 87, 76, 157, 83, 257.
QUICK = [1, 2, 3, 4, 5, 6, 7, 8]
IN_MAKE_TEST = (1, 5)


def chosen(number):
    wanted = os.environ.get("LINKAGE_FAULTS")
    if wanted == "0":
        return pytest.param(number, marks=pytest.mark.skip(reason="LINKAGE_FAULTS=0"))
    if wanted != "1" and number not in IN_MAKE_TEST:
        return pytest.param(number, marks=pytest.mark.skip(
            reason="fault injection beyond make test's: set LINKAGE_FAULTS=1 to run"))
    return number


def start(number, out):
    """The scenario as a child process, its output in `out`/output.txt."""
    with open(out / "output.txt", "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "faults", "--quick", "--scenario", str(number), "--out", str(out)],
            cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    return process, out


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """make test's scenarios, started at once, each on its own stack: their
    loads are light (5 registrations/s), so together they take about as long
    as one. With LINKAGE_FAULTS=1 each runs alone, as `make faults` does."""
    runs = {}
    if os.environ.get("LINKAGE_FAULTS") not in ("0", "1"):
        runs = {number: start(number, tmp_path_factory.mktemp("faults-%d" % number))
                for number in IN_MAKE_TEST}
    yield runs
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("number", [chosen(number) for number in QUICK])
def test_scenario_in_quick_mode_loses_and_duplicates_nothing(number, started, tmp_path):
    process, out = started.get(number) or start(number, tmp_path)
    process.wait(timeout=900)
    output = (out / "output.txt").read_text(errors="replace")
    results = json.loads(next(out.glob("faults-*/results.json")).read_text())
    result = results[0]
    assert "error" not in result, output[-6000:]
    for party, row in result["ledger"].items():
        assert (row["lost"], row["duplicated"], row["unexpected"]) == (0, 0, 0), (party, row)
    failed = {name: ok for name, ok in result["checks"].items() if not ok}
    assert not failed, result["findings"]
    assert result["ok"], output[-3000:]


# ---------------------------------------------------------------- the checker itself
class FakeClient(dict):
    """client[db][collection].find() over lists of documents."""

    def __init__(self, records):
        super().__init__({party: {name: SimpleNamespace(find=lambda docs=docs: list(docs))
                                  for name, docs in collections.items()}
                          for party, collections in records.items()})


def envelope(event_type, returnee, event_id, **payload):
    return {"event_type": event_type, "event_id": event_id,
            "payload": dict(payload, returnee_id=returnee)}


def a_closed_registration(returnee, local=False):
    """The records and events of one registration that went through once."""
    parties = {p: {"done": True, "overdue": False} for p in (POLICE, PROPERTY, DEVELOPER, FLOATING)}
    applied = ["%s-%s" % (returnee, n) for n in ("opened", "completed", "held", "issued", "checked")]
    applied += [] if local else ["%s-recorded" % returnee]
    records = {
        COMMITTEE: {"linkages": [{"_id": returnee, "status": "closed", "parties": parties,
                                  "applied_events": applied}]},
        POLICE: {"checks": [{"_id": returnee, "status": "cleared"}]},
        PROPERTY: {"gate_passes": [{"_id": returnee, "status": "issued",
                                    "applied_events": ["%s-completed" % returnee]}]},
        DEVELOPER: {"housing_checks": [{"_id": returnee}]},
        FLOATING: {"registrations": [] if local else [{"_id": returnee}]},
    }
    events = [envelope(t, returnee, "%s-%s" % (returnee, t)) for t in (
        "returnee_registered", "returnee_housing_declared")]
    events += [envelope(t, returnee, "%s-%s" % (returnee, n)) for t, n in (
        ("identity_check_opened", "opened"), ("identity_check_completed", "completed"),
        ("gate_pass_held", "held"), ("gate_pass_issued", "issued"),
        ("housing_allocation_checked", "checked"))]
    if not local:
        events += [envelope("non_local_returnee_registered", returnee, "%s-nl" % returnee),
                   envelope("non_local_arrival_recorded", returnee, "%s-recorded" % returnee)]
    registration = SimpleNamespace(returnee_id=returnee, body={"local_hukou": local}, decided=200)
    return records, events, registration


def ledger_of(records, events, registrations):
    return Ledger(FakeClient(records), registrations, Published(events))


def test_the_checker_counts_a_registration_that_went_through_once():
    records, events, registration = a_closed_registration("r1")
    ledger = ledger_of(records, events + events[:3], [registration])  # republished: harmless
    rows = ledger.rows()
    assert all((row["once"], row["lost"], row["duplicated"]) == (1, 0, 0) for row in rows.values())
    assert verdict(rows, ledger.overdue())


def test_the_checker_finds_a_lost_record_and_a_stuck_pass():
    records, events, registration = a_closed_registration("r1")
    records[DEVELOPER]["housing_checks"] = []
    records[PROPERTY]["gate_passes"][0]["status"] = "held"
    rows = ledger_of(records, events, [registration]).rows()
    assert rows[DEVELOPER]["lost"] == 1 and rows[PROPERTY]["lost"] == 1
    assert rows[POLICE]["lost"] == 0


def test_the_checker_finds_a_fact_announced_twice_and_an_event_applied_twice():
    records, events, registration = a_closed_registration("r1")
    events.append(envelope("gate_pass_held", "r1", "r1-held-again"))
    records[COMMITTEE]["linkages"][0]["applied_events"].append("r1-opened")
    rows = ledger_of(records, events, [registration]).rows()
    assert rows[PROPERTY]["duplicated"] == 1
    assert rows[COMMITTEE]["duplicated"] == 1
    assert not verdict(rows, {})


def test_the_checker_counts_overdue_notices_per_party_and_deadline():
    records, events, registration = a_closed_registration("r1")
    records[COMMITTEE]["linkages"][0]["parties"][POLICE]["overdue"] = True
    records[POLICE]["checks"][0]["applied_events"] = ["n1", "n2"]
    events += [envelope("linkage_party_overdue", "r1", n, party=POLICE) for n in ("n1", "n2")]
    overdue = ledger_of(records, events, [registration]).overdue()
    assert overdue["deadlines_passed"] == 1 and overdue["notices_duplicated"] == 1
