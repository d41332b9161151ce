"""ops/rabbitmq/definitions.json, the topology RabbitMQ imports at boot in
compose, is exactly what `linkage topology --definitions` prints, and the
entrypoint wrapper adds the broker user to it without committing a password.

Regenerate after a catalogue change with:
    linkage topology --definitions > ops/rabbitmq/definitions.json
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.ops.helpers import OPS, REPO, SERVICES

DEFINITIONS = os.path.join(OPS, "rabbitmq", "definitions.json")
RENDER = os.path.join(OPS, "rabbitmq", "render-definitions.sh")


def linkage_command():
    """The installed console script if there is one, else the module."""
    for candidate in (os.path.join(REPO, ".venv", "bin", "linkage"), shutil.which("linkage")):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    return [sys.executable, "-m", "shared.cli"]


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
    assert "users" not in definitions and "permissions" not in definitions
    exchanges = by_name(definitions["exchanges"])
    queues = by_name(definitions["queues"])
    for service in SERVICES:
        dead_letters = queues["%s.dead_letters" % service]
        assert dead_letters["durable"] and dead_letters["arguments"]["x-queue-type"] == "quorum"
    for name, queue in queues.items():
        assert queue["durable"] and not queue["auto_delete"], name
        if name.startswith("linkage.retry."):
            # a message waiting out its delay survives a node like any other
            assert queue["arguments"]["x-queue-type"] == "quorum", name
            assert queue["arguments"]["x-dead-letter-strategy"] == "at-least-once", name
        else:
            consumer = name.split(".")[0]
            assert consumer in SERVICES, name
            assert queue["arguments"]["x-queue-type"] == "quorum", name
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


def render(tmp_path, user="linkage", password="s3cret-value_1.2~x"):
    out = tmp_path / "run" / "definitions.json"
    env = dict(os.environ, RABBITMQ_USER=user, RABBITMQ_PASSWORD=password,
               LINKAGE_TOPOLOGY=DEFINITIONS, LINKAGE_DEFINITIONS=str(out))
    result = subprocess.run(["sh", RENDER], env=env, capture_output=True, text=True, timeout=30)
    return result, out


def test_render_adds_the_broker_user_to_the_topology(tmp_path):
    result, out = render(tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = json.loads(out.read_text())
    assert rendered["users"] == [{"name": "linkage", "password": "s3cret-value_1.2~x",
                                  "tags": ["administrator"]}]
    assert rendered["permissions"] == [{"user": "linkage", "vhost": "/", "configure": ".*",
                                        "write": ".*", "read": ".*"}]
    assert rendered["vhosts"] == [{"name": "/"}]
    topology = committed()
    for key in topology:
        assert rendered[key] == topology[key]
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o600)  # it holds a password


@pytest.mark.parametrize("password", ['quote"d', "back\\slash", "at@sign", "CHANGE-ME", ""])
def test_render_refuses_unsafe_or_placeholder_passwords(tmp_path, password):
    result, out = render(tmp_path, password=password)
    assert result.returncode != 0
    assert not out.exists()
