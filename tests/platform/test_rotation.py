"""`linkage keys rotate` on a real database (shared/rotation.py): data written
before encryption and data under an old key end under the new key, the
archive included, and a linkage's plain `open_person` becomes its blind index."""
import os

from shared import rotation
from shared.catalogue import CATALOGUE
from shared.locks import make_locks
from shared.personal import Keyring, is_sealed, kid_of
from shared.store import archive_name

from services.neighborhood_committee.repository import LINKAGES, LinkageRepository
from services.neighborhood_committee.service import NeighborhoodCommitteeService

ID_NUMBER = "11010519491231002X"
OLD = ("k1", os.urandom(32))
NEW = ("k2", os.urandom(32))
BLIND = os.urandom(32)


def test_rotation_reencrypts_old_and_plain_values_and_indexes_the_open_person(mongo_client, db_prefix):
    db = mongo_client[db_prefix + "neighborhood_committee"]
    old = Keyring((OLD,), BLIND)
    db[LINKAGES].insert_many([
        {"_id": "plain", "version": 1, "id_number": ID_NUMBER, "phone": "13800138000",
         "status": "open", "open_person": ID_NUMBER},
        {"_id": "old", "version": 1, "id_number": old.encrypt("110105194912310037", "id_number"),
         "phone": old.encrypt("13900139000", "phone"), "status": "closed"},
    ])
    db[archive_name(LINKAGES)].insert_one(
        {"_id": "archived", "version": 3, "id_number": old.encrypt(ID_NUMBER, "id_number"),
         "phone": None, "status": "closed"})
    keyring = Keyring((NEW, OLD), BLIND)
    repositories = rotation.repository_classes(NeighborhoodCommitteeService)
    assert LinkageRepository in repositories

    counts = rotation.rotate(db, "neighborhood_committee", repositories, keyring,
                             make_locks("process", db), CATALOGUE, batch=1)
    assert counts[LINKAGES] == (2, 2) and counts[archive_name(LINKAGES)] == (1, 1)
    new_only = Keyring((NEW,), BLIND)
    for collection in (LINKAGES, archive_name(LINKAGES)):
        for document in db[collection].find():
            assert is_sealed(document["id_number"]) and kid_of(document["id_number"]) == "k2"
            new_only.decrypt(document["id_number"], "id_number")
    plain = db[LINKAGES].find_one({"_id": "plain"})
    assert new_only.decrypt(plain["phone"], "phone") == "13800138000"
    assert plain["version"] == 2  # a guarded write, like any other
    repository = LinkageRepository(db, CATALOGUE, "neighborhood_committee")
    repository.personal = new_only
    assert repository.open_for_person(ID_NUMBER.lower()) == {"_id": "plain"}
    assert repository.get("old")["phone"] == "13900139000"

    again = rotation.rotate(db, "neighborhood_committee", repositories, keyring,
                            make_locks("process", db), CATALOGUE)
    assert again[LINKAGES] == (2, 0) and again[archive_name(LINKAGES)] == (1, 0)
