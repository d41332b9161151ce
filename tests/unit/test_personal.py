"""Personal data encryption (shared/personal.py) and its settings."""
import base64
import os
from datetime import date, datetime, timezone

import pytest

from shared import personal
from shared.catalogue import CATALOGUE
from shared.events import InvalidEvent
from shared.personal import Keyring, Undecryptable, format_keys, kid_of
from shared.settings import DEVELOPMENT_SECRET, InsecureConfiguration, Settings

ID_NUMBER = "11010519491231002X"
OLD = ("k1", os.urandom(32))
NEW = ("k2", os.urandom(32))


def keyring(*keys, blind=b"b" * 32):
    return Keyring(keys or (OLD,), blind)


def test_a_value_round_trips_and_its_ciphertext_names_its_key():
    text = keyring().encrypt(ID_NUMBER, "id_number")
    assert text.startswith("enc:v1:k1:") and ID_NUMBER not in text
    assert kid_of(text) == "k1"
    assert keyring().decrypt(text, "id_number") == ID_NUMBER
    reporter = {"name": "张三", "phone": "13800138000"}
    assert keyring().open(keyring().seal(reporter, "reporter"), "reporter") == reporter


def test_each_encryption_differs():
    assert keyring().encrypt(ID_NUMBER, "id_number") != keyring().encrypt(ID_NUMBER, "id_number")


def test_a_tampered_ciphertext_does_not_decrypt():
    text = keyring().encrypt(ID_NUMBER, "id_number")
    body = bytearray(base64.urlsafe_b64decode(text.rsplit(":", 1)[1] + "=="))
    body[-1] ^= 1
    tampered = text.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(bytes(body)).decode()
    with pytest.raises(Undecryptable):
        keyring().decrypt(tampered, "id_number")


def test_a_ciphertext_moved_to_another_field_does_not_decrypt():
    with pytest.raises(Undecryptable):
        keyring().decrypt(keyring().encrypt("13800138000", "phone"), "id_number")


def test_an_unknown_key_does_not_decrypt_and_a_new_first_key_still_reads_the_old():
    old = keyring(OLD).encrypt(ID_NUMBER, "id_number")
    with pytest.raises(Undecryptable):
        keyring(NEW).decrypt(old, "id_number")
    rotated = keyring(NEW, OLD)
    assert rotated.decrypt(old, "id_number") == ID_NUMBER
    assert rotated.stale(old) and not rotated.stale(rotated.seal(ID_NUMBER, "id_number"))
    assert kid_of(rotated.seal(ID_NUMBER, "id_number")) == "k2"


def test_the_blind_index_is_stable_normalised_and_keyed():
    index = keyring().blind_index(ID_NUMBER)
    assert index == keyring().blind_index(" " + ID_NUMBER.lower() + " ")
    assert ID_NUMBER not in index and len(index) == 64
    assert index != keyring(blind=b"c" * 32).blind_index(ID_NUMBER)
    assert index != keyring().blind_index("110105194912310037")


def test_encryption_off_stores_plain_values_and_plain_values_read_as_they_are():
    off = Keyring((OLD,), enabled=False)
    assert off.seal(ID_NUMBER, "id_number") == ID_NUMBER
    assert keyring().open(ID_NUMBER, "id_number") == ID_NUMBER
    assert keyring().stale(ID_NUMBER)


def test_development_keys_are_per_service_and_production_refuses_them():
    police = Settings.from_config("community_police", {})
    floating = Settings.from_config("floating_population_office", {})
    assert police.personal_data_keys != floating.personal_data_keys
    assert police.blind_index_key != floating.blind_index_key
    assert police.transit_keys == floating.transit_keys  # what one seals the other opens
    production = {"LINKAGE_ENV": "production", "LINKAGE_SECRET": "s" * 40,
                  "PERSONAL_DATA_KEYS": format_keys([NEW, OLD]), "BLIND_INDEX_KEY": format_keys([OLD]),
                  "TRANSIT_KEYS": format_keys([NEW])}
    settings = Settings.from_config("community_police", production)
    assert settings.keyring().current == "k2" and set(settings.keyring().keys) == {"k1", "k2"}
    for name in ("PERSONAL_DATA_KEYS", "BLIND_INDEX_KEY", "TRANSIT_KEYS"):
        with pytest.raises(InsecureConfiguration, match=name):
            Settings.from_config("community_police", dict(production, **{name: ""}))
    development = format_keys([("dev", personal.development_key(DEVELOPMENT_SECRET, "personal-data-key",
                                                                "community_police"))])
    with pytest.raises(InsecureConfiguration, match="development key"):
        Settings.from_config("community_police", dict(production, PERSONAL_DATA_KEYS=development))
    with pytest.raises(InsecureConfiguration, match="32 bytes"):
        Settings.from_config("community_police", dict(production, TRANSIT_KEYS="t:" + "YQ=="))
    with pytest.raises(InsecureConfiguration, match="ENCRYPT_PERSONAL_DATA"):
        Settings.from_config("community_police", dict(production, ENCRYPT_PERSONAL_DATA="off"))


def test_personal_fields_travel_sealed_and_are_opened_before_the_schema():
    transit = CATALOGUE.with_transit(keyring())
    payload = {"returnee_id": "r-1", "name": "张三", "id_number": ID_NUMBER, "phone": "13800138000",
               "address": {"building": "1", "unit": "1", "room": "101"}, "origin": "x",
               "arrival_date": date(2026, 1, 1), "local_hukou": False,
               "registered_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}
    envelope = transit.new_event("returnee_registered", payload, "r-1")
    assert ID_NUMBER not in str(envelope) and "13800138000" not in str(envelope)
    assert transit.load(envelope).payload["id_number"] == ID_NUMBER
    with pytest.raises(InvalidEvent, match="id_number"):
        CATALOGUE.with_transit(keyring(NEW)).load(envelope)
    moved = dict(envelope, event_type="non_local_returnee_registered")
    with pytest.raises(InvalidEvent):  # sealed for one event type, not another
        transit.load(moved)
