"""Test fixtures shared by every depth.

Integration and end-to-end tests talk to the real RabbitMQ and the real
MongoDB-protocol database of the local stack (`make stack`). Each test gets
its own RabbitMQ vhost (nameko's `rabbit_config` fixture creates and deletes
it through the management API) and its own database-name prefix, so tests
never see each other's messages or documents.
"""
import os

# eventlet's green DNS resolver does not take the keyword arguments pymongo 4.x
# passes to getaddrinfo; the standard resolver does (see README, "Why these versions").
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports socket or threading

import uuid  # noqa: E402

import pytest  # noqa: E402
from pymongo import MongoClient  # noqa: E402

MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")


@pytest.fixture(scope="session")
def mongo_client():
    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    client.admin.command("ping")
    yield client
    client.close()


@pytest.fixture
def db_prefix(mongo_client):
    prefix = "t%s_" % uuid.uuid4().hex[:10]
    yield prefix
    for name in mongo_client.list_database_names():
        if name.startswith(prefix):
            mongo_client.drop_database(name)


@pytest.fixture
def service_config(rabbit_config, db_prefix):
    """A nameko config for in-process containers: own vhost, own databases,
    fast retries and a fast relay poll."""
    def make(port=0, **overrides):
        config = dict(rabbit_config)
        config.update({
            "MONGO_URI": MONGO_URI,
            "DB_PREFIX": db_prefix,
            "WEB_SERVER_ADDRESS": "127.0.0.1:%d" % port,
            "RETRY_DELAYS_MS": "200,400,800",
            "OUTBOX_POLL_SECONDS": "0.2",
            "OUTBOX_SCAN_SECONDS": "0.5",
        })
        config.update(overrides)
        return config
    return make


@pytest.fixture(scope="session")
def system(mongo_client):
    """All five services as real processes, with time limits long enough
    never to fire during a test."""
    from tests.system import System
    with System() as running:
        running.start()
        yield running
        running.drop_databases(mongo_client)


@pytest.fixture(scope="session")
def running_services(system):
    """service name -> base URL of the running system."""
    return system.urls
