"""ops/rabbitmq/definitions.json, the topology RabbitMQ imports at boot in
compose, is exactly what `linkage topology --definitions` prints; each
service's permissions reach its own exchange and queues and no other party's;
and the entrypoint wrapper adds the users to it without committing a password.

Regenerate after a catalogue change with:
    linkage topology --definitions > ops/rabbitmq/definitions.json
"""
import json
import os
import re
import subprocess

import pytest

from shared.settings import DEFAULT_RETRY_DELAYS_MS
from tests.ops.helpers import BROKER_PASSWORDS, OPS, REPO, SERVICES, linkage_command

DEFINITIONS = os.path.join(OPS, "rabbitmq", "definitions.json")
RENDER = os.path.join(OPS, "rabbitmq", "render-definitions.sh")


def committed():
    with open(DEFINITIONS) as handle:
        return json.load(handle)


def by_name(items, key="name"):
    return {item[key]: item for item in items}


def test_committed_definitions_match_linkage_topology():
    if not os.path.exists(os.path.join(REPO, "shared", "cli.py")):
        pytest.skip("`linkage topology --definitions` (shared/cli.py) is not written yet")
    # the defaults, whatever the shell running the tests has set
    env = {key: value for key, value in os.environ.items()
           if key not in ("RETRY_DELAYS_MS", "AMQP_URI", "LINKAGE_ENV")}
    result = subprocess.run(linkage_command() + ["topology", "--definitions"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    generated = json.loads(result.stdout)
    assert generated == committed(), (
        "ops/rabbitmq/definitions.json is stale: run "
        "`linkage topology --definitions > ops/rabbitmq/definitions.json`")


def test_definitions_hold_the_topology_and_no_users():
    definitions = committed()
    assert "users" not in definitions  # their passwords are added at boot
    exchanges = by_name(definitions["exchanges"])
    queues = by_name(definitions["queues"])
    for service in SERVICES:
        dead_letters = queues["%s.dead_letters" % service]
        assert dead_letters["durable"] and dead_letters["arguments"]["x-queue-type"] == "quorum"
    retries = 0
    for name, queue in queues.items():
        assert queue["durable"] and not queue["auto_delete"], name
        owner = name.split(".")[0]
        assert owner in SERVICES, name
        assert queue["arguments"]["x-queue-type"] == "quorum", name
        if name.split(".")[1] == "retry":
            # a message waiting out its delay survives a node like any other,
            # and goes back through its own service's redelivery exchange
            retries += 1
            assert queue["arguments"]["x-dead-letter-strategy"] == "at-least-once", name
            assert queue["arguments"]["x-dead-letter-exchange"] == "%s.redelivery" % owner, name
        elif not name.endswith(".dead_letters"):
            # a consumer queue: what the broker dead-letters goes to its own dead letters
            assert queue["arguments"]["x-dead-letter-exchange"] == "%s.dead_letters" % owner, name
    assert retries == len(SERVICES) * len(DEFAULT_RETRY_DELAYS_MS)
    for binding in definitions["bindings"]:
        assert binding["source"] in exchanges
        assert binding["destination"] in queues
        if binding["source"].endswith(".events"):
            # <producer>.events --event_type--> <consumer>.<event_type>, or for an
            # event addressed to one consumer --event_type.consumer--> its queue alone
            consumer, event_type = binding["destination"].split(".", 1)
            assert binding["routing_key"] in (event_type, "%s.%s" % (event_type, consumer))
    for exchange in exchanges.values():
        if exchange["name"].endswith(".events"):
            assert exchange["type"] == "topic" and exchange["name"][: -len(".events")] in SERVICES


def matching(pattern, names):
    # RabbitMQ searches a name with the pattern (Erlang's re, PCRE); ours are anchored
    return {name for name in names if re.search(pattern, name)}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_user_reaches_its_own_exchange_and_queues_only(service):
    definitions = committed()
    (granted,) = [p for p in definitions["permissions"] if p["user"] == service]
    assert granted["vhost"] == "/"
    exchanges = {e["name"] for e in definitions["exchanges"]} | {"amq.default"}
    queues = {q["name"] for q in definitions["queues"]}
    own_exchanges = {name for name in exchanges if name.startswith(service + ".")}
    own_queues = {name for name in queues if name.startswith(service + ".")}
    retries = {"%s.retry.%dms" % (service, delay) for delay in DEFAULT_RETRY_DELAYS_MS}
    assert own_exchanges == {"%s.events" % service, "%s.redelivery" % service,
                             "%s.dead_letters" % service} | retries
    assert "%s.dead_letters" % service in own_queues and retries <= own_queues
    # configure (declare, delete) and read (consume, bind from): its own, nothing else
    for kind in ("configure", "read"):
        assert matching(granted[kind], exchanges) == own_exchanges, kind
        assert matching(granted[kind], queues) == own_queues, kind
    # publish: to its own exchanges only, never the default exchange (which
    # reaches every queue by name)
    assert matching(granted["write"], exchanges) == own_exchanges
    # and to no other party's queue (its own dead letters and retries share
    # their exchanges' names)
    assert matching(granted["write"], queues) == {"%s.dead_letters" % service} | retries


def test_every_service_and_no_one_else_has_permissions():
    assert sorted(p["user"] for p in committed()["permissions"]) == sorted(SERVICES)


PASSWORDS = {key: "%s-pw_1.2~x" % key.split("_")[0].lower() for key in BROKER_PASSWORDS.values()}


def render(tmp_path, user="linkage", password="s3cret-value_1.2~x", **overrides):
    out = tmp_path / "run" / "definitions.json"
    env = dict(os.environ, RABBITMQ_USER=user, RABBITMQ_PASSWORD=password,
               LINKAGE_TOPOLOGY=DEFINITIONS, LINKAGE_DEFINITIONS=str(out))
    env.update(PASSWORDS)
    env.update(overrides)
    env = {key: value for key, value in env.items() if value is not None}
    result = subprocess.run(["sh", RENDER], env=env, capture_output=True, text=True, timeout=30)
    return result, out


def test_render_adds_the_administrator_and_each_service_user_to_the_topology(tmp_path):
    result, out = render(tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = json.loads(out.read_text())
    admin, *services = rendered["users"]
    assert admin == {"name": "linkage", "password": "s3cret-value_1.2~x", "tags": ["administrator"]}
    # the services' users are named after them and cannot use the management API
    assert services == [{"name": service, "password": PASSWORDS[BROKER_PASSWORDS[service]], "tags": []}
                        for service in SERVICES]
    assert rendered["permissions"] == [{"user": "linkage", "vhost": "/", "configure": ".*",
                                        "write": ".*", "read": ".*"}] + committed()["permissions"]
    assert rendered["vhosts"] == [{"name": "/"}]
    topology = committed()
    for key in topology:
        if key != "permissions":
            assert rendered[key] == topology[key]
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o600)  # it holds the passwords


@pytest.mark.parametrize("password", ['quote"d', "back\\slash", "at@sign", "CHANGE-ME", ""])
@pytest.mark.parametrize("variable", ["RABBITMQ_PASSWORD", BROKER_PASSWORDS["developer"]])
def test_render_refuses_unsafe_or_placeholder_passwords(tmp_path, variable, password):
    result, out = render(tmp_path, **{variable: password})
    assert result.returncode != 0
    assert variable in result.stderr
    assert not out.exists()


def test_render_refuses_a_missing_service_password(tmp_path):
    result, out = render(tmp_path, **{BROKER_PASSWORDS["community_police"]: None})
    assert result.returncode != 0 and BROKER_PASSWORDS["community_police"] in result.stderr
    assert not out.exists()


def test_render_refuses_an_administrator_named_like_a_service(tmp_path):
    result, out = render(tmp_path, user="developer")
    assert result.returncode != 0
    assert not out.exists()
