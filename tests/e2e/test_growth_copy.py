"""The data-growth benchmark's bulk copy (bench/clone.py) is faithful: a copy
of a linkage the five services wrote is that linkage with other ids and other
times, in every database, and every party's API answers for it as for its
template.

The five services run as processes on the test stack, with a vhost and a
database prefix of their own (tests/system.py); three templates go through
the real flow, then six copies are made, spaced so that the older half are
old enough to be copied as the archive pass leaves them (bench/aging.py).
"""
import re
from datetime import datetime

import pytest
import requests
from bson import ObjectId

from bench import aging
from bench.clone import Cloner, Plan, Sealed, counts, keyrings, snapshot
from bench.growth import verify_api
from bench.identities import People
from bench.templates import Desks, drive, wait_quiet
from shared.parties import ALL, COMMITTEE
from shared.personal import is_sealed
from tests.system import RABBIT_API, System

pytestmark = pytest.mark.slow

COPIES = 6
# This test's own idea of what differs between two returnees, kept apart
# from bench/clone.py's: ids, hex keys and digit runs; masked IDs; times.
ID_LIKE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|\d{17}[\dX]|[0-9a-fA-F]{8,}")
MASKED = re.compile(r"\d{6}\*{8}[\dX]{4}")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
MONTH = re.compile(r"\d{4}[_-]?\d{2}")


def shape(text):
    return TIME.sub("<time>", MASKED.sub("<masked>", ID_LIKE.sub("<id>", text)))


def collection_shape(name):
    """A collection's name, whatever month it is of."""
    return MONTH.sub("<month>", name)


def assert_same_but_ids_and_times(template, clone, shift, where, keyring=None):
    """`clone` is `template` with each id-like string replaced by another
    and each time moved by `shift`; everything else equal. A value stored
    encrypted (opened in the plan as a Sealed) is compared decrypted
    (`keyring`: its database's keys)."""
    if isinstance(template, dict):
        assert isinstance(clone, dict) and len(clone) == len(template), where
        for (key, value), (clone_key, clone_value) in zip(template.items(), clone.items()):
            assert shape(key) == shape(clone_key), where
            assert_same_but_ids_and_times(value, clone_value, shift, "%s.%s" % (where, key), keyring)
    elif isinstance(template, list):
        assert isinstance(clone, list) and len(clone) == len(template), where
        for number, (value, clone_value) in enumerate(zip(template, clone)):
            assert_same_but_ids_and_times(value, clone_value, shift, "%s[%d]" % (where, number),
                                          keyring)
    elif isinstance(template, Sealed):
        assert is_sealed(clone), (where, clone)
        assert_same_but_ids_and_times(template.plain, keyring.decrypt(clone, template.field),
                                      shift, where + " (decrypted)")
    elif isinstance(template, datetime):
        assert clone == template + shift, where
    elif isinstance(template, str):
        assert shape(clone) == shape(template), (where, template, clone)
        if ID_LIKE.search(template):
            assert clone != template, (where, template)
    elif isinstance(template, ObjectId):
        assert isinstance(clone, ObjectId) and clone != template, where
    else:
        assert clone == template, (where, template, clone)


@pytest.fixture(scope="module")
def copied(mongo_client):
    system = System()
    with system:
        system.start()
        try:
            databases = [system.db_prefix + service for service in ALL]
            desks = Desks(system.urls)
            template_ids = drive(desks, People(seed=11), 3, log=lambda message: None)
            wait_quiet(mongo_client, databases, lambda: {
                queue["name"]: queue.get("messages") or 0 for queue in requests.get(
                    "%s/api/queues/%s?columns=name,messages" % (RABBIT_API, system.vhost),
                    timeout=10).json()}, settle=1.5)
            documents = snapshot(mongo_client, databases)
            archived, age = aging.aged(mongo_client, documents, db_prefix=system.db_prefix)
            plan = Plan(documents, template_ids, archived, age,
                        keyrings=keyrings(ALL, db_prefix=system.db_prefix))
            # Copies 0-2 younger than the archive age, 3-5 older (if anything archives).
            spacing = age.total_seconds() / 3.5 if age else 3600.0
            cloner = Cloner(plan, spacing_seconds=spacing, seed=5)
            before = counts(mongo_client, databases)
            ids, inserted = cloner.copy(mongo_client, COPIES)
            after = counts(mongo_client, databases)
            yield dict(system=system, desks=desks, plan=plan, cloner=cloner, ids=ids, inserted=inserted,
                       before=before, after=after, databases=databases, client=mongo_client)
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def stored(client, db, collection, returnee_id):
    """The clone's documents in one collection: those that name it anywhere."""
    return [doc for doc in client[db][collection].find() if returnee_id in repr(doc)]


def test_each_collection_grows_by_the_copies_and_nothing_else(copied):
    before, after, inserted = copied["before"], copied["after"], copied["inserted"]
    assert sum(inserted.values()) >= COPIES * 4  # a linkage, a check, a pass, a housing check at least
    for key in set(before) | set(after):
        assert after.get(key, 0) - before.get(key, 0) == inserted.get(key, 0), key


def test_each_copy_is_its_template_with_other_ids_and_times(copied):
    plan, cloner, client = copied["plan"], copied["cloner"], copied["client"]
    seen_archived_form = False
    for number, returnee_id in enumerate(copied["ids"]):
        template = cloner.template_of(number)
        template_id = plan.template_ids[template]
        shift = cloner.shift(number)
        family = plan.family(template, cloner.age(number))
        seen_archived_form |= family is not plan.families[template]
        for db, collection, template_doc in family:
            # The same document of the copy: in its collection, or in that of its month.
            candidates = [doc for name in client[db].list_collection_names()
                          if collection_shape(name) == collection_shape(collection)
                          for doc in stored(client, db, name, returnee_id)
                          if len(doc) == len(template_doc)
                          and [shape(k) for k in doc] == [shape(k) for k in template_doc]]
            assert candidates, (db, collection, template_doc)
            errors = []
            for candidate in candidates:
                try:
                    assert_same_but_ids_and_times(template_doc, candidate, shift, collection,
                                                  plan.keyrings[db])
                    break
                except AssertionError as exc:
                    errors.append(exc)
            else:
                raise errors[0]
        for db in copied["databases"]:  # nothing of the copy still names its template
            for name in client[db].list_collection_names():
                for doc in stored(client, db, name, returnee_id):
                    assert template_id not in repr(doc), (db, name)
    if plan.aged is not None:
        assert seen_archived_form, "no copy was old enough to be copied archived"


def test_each_copy_answers_through_every_party_as_its_template_does(copied):
    desks, cloner = copied["desks"], copied["cloner"]
    assert verify_api(desks, cloner, cloner.kept(COPIES)) == []
    for returnee_id in copied["ids"]:
        linkage = desks.get(COMMITTEE, "/api/v1/returnees/%s" % returnee_id)
        assert linkage.status_code == 200
        assert linkage.json()["id"] == returnee_id and linkage.json()["status"] == "closed"


def test_a_copy_holds_its_own_person_encrypted_and_indexed_under_the_services_keys(copied):
    """Not vacuous: the templates' personal fields were opened for the copy,
    and each copy's ID number is its own, sealed under the committee's key,
    with the blind index of that number (a person's export finds it)."""
    plan, client = copied["plan"], copied["client"]
    assert any(isinstance(value, Sealed) for family in plan.families for _, _, doc in family
               for value in doc.values())
    (db,) = [name for name in plan.keyrings if name.endswith(COMMITTEE)]
    keyring = plan.keyrings[db]
    numbers = set()
    for returnee_id in copied["ids"]:
        linkage = (client[db]["linkages"].find_one({"_id": returnee_id})
                   or client[db]["linkages_archive"].find_one({"_id": returnee_id}))
        number = keyring.decrypt(linkage["id_number"], "id_number")
        assert linkage["person_index"] == keyring.blind_index(number)
        numbers.add(number)
    assert len(numbers) == len(copied["ids"])
