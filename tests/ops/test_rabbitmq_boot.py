"""Boot a real RabbitMQ node (the one installed on this machine for the local
stack) with the compose configuration: ops/rabbitmq/rabbitmq.conf, its
plugins, and the definitions rendered by render-definitions.sh. Shows that
the config is accepted, every queue exists before any service runs, the
broker user from the environment can log in and no default guest exists,
and the Prometheus endpoints the scrape config uses answer with the series
the alert rules need.

Only the listener lines of rabbitmq.conf are changed (free loopback ports,
so it runs beside the local stack) and the definitions path (a temp dir)."""
import base64
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.ops.helpers import OPS, RABBITMQ_METRICS, SERVICES, free_port

pytestmark = pytest.mark.slow

RABBIT_BIN = "/usr/lib/rabbitmq/bin"  # not /usr/sbin: those wrappers su to the rabbitmq user
USER, PASSWORD = "linkage", "boot-test-" + uuid.uuid4().hex


def _conf(definitions_path, ports):
    lines = []
    for line in open(os.path.join(OPS, "rabbitmq", "rabbitmq.conf")):
        key = line.split("=")[0].strip()
        if key in ("definitions.local.path", "listeners.tcp.default", "management.tcp.port",
                   "prometheus.tcp.port"):
            continue
        lines.append(line.rstrip("\n"))
    lines += [
        "definitions.local.path = %s" % definitions_path,
        "listeners.tcp.default = 127.0.0.1:%d" % ports["amqp"],
        "management.tcp.ip = 127.0.0.1",
        "management.tcp.port = %d" % ports["management"],
        "prometheus.tcp.ip = 127.0.0.1",
        "prometheus.tcp.port = %d" % ports["prometheus"],
    ]
    return "\n".join(lines) + "\n"


def _get(url, auth=None, timeout=5):
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(("%s:%s" % auth).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory):
    if not os.access(os.path.join(RABBIT_BIN, "rabbitmq-server"), os.X_OK):
        pytest.skip("rabbitmq-server is not installed (scripts/stack.sh installs it)")
    home = tmp_path_factory.mktemp("rabbit")
    ports = {name: free_port() for name in ("amqp", "management", "prometheus", "dist")}
    definitions = home / "definitions.json"
    env = dict(os.environ, RABBITMQ_USER=USER, RABBITMQ_PASSWORD=PASSWORD,
               LINKAGE_TOPOLOGY=os.path.join(OPS, "rabbitmq", "definitions.json"),
               LINKAGE_DEFINITIONS=str(definitions))
    subprocess.run(["sh", os.path.join(OPS, "rabbitmq", "render-definitions.sh")], env=env, check=True)
    (home / "rabbitmq.conf").write_text(_conf(definitions, ports))
    (home / "enabled_plugins").write_text(open(os.path.join(OPS, "rabbitmq", "enabled_plugins")).read())

    node = "opsboot%s@localhost" % uuid.uuid4().hex[:8]
    env = dict(os.environ, HOME=str(home), RABBITMQ_NODENAME=node,
               RABBITMQ_CONFIG_FILE=str(home / "rabbitmq.conf"),
               RABBITMQ_ENABLED_PLUGINS_FILE=str(home / "enabled_plugins"),
               RABBITMQ_MNESIA_BASE=str(home / "mnesia"), RABBITMQ_LOG_BASE=str(home / "log"),
               RABBITMQ_PID_FILE=str(home / "pid"), RABBITMQ_DIST_PORT=str(ports["dist"]),
               ERL_EPMD_ADDRESS="127.0.0.1",
               RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
    log = open(home / "out.log", "w")
    server = subprocess.Popen([os.path.join(RABBIT_BIN, "rabbitmq-server")], env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    base = "http://127.0.0.1:%d" % ports["management"]
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail("RabbitMQ exited during boot:\n" + (home / "out.log").read_text()[-3000:])
            try:
                _get(base + "/api/overview", auth=(USER, PASSWORD))
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail("RabbitMQ did not answer in 120 s:\n" + (home / "out.log").read_text()[-3000:])
                time.sleep(0.5)
        # The management API can answer before the boot (and with it the
        # definitions import) has finished; wait for the node to say it is up.
        subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", node, "await_startup",
                        "--timeout", "120"], env=env, check=True, capture_output=True, timeout=150)
        yield {"api": base, "prometheus": "http://127.0.0.1:%d" % ports["prometheus"],
               "amqp_port": ports["amqp"]}
    finally:
        subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", node, "stop"], env=env,
                       capture_output=True, timeout=60)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # our own session only
            server.wait(timeout=10)
        log.close()


def test_every_queue_exchange_and_binding_exists_at_boot(rabbit):
    expected = json.load(open(os.path.join(OPS, "rabbitmq", "definitions.json")))
    auth = (USER, PASSWORD)
    queues = {q["name"]: q for q in json.loads(_get(rabbit["api"] + "/api/queues", auth=auth))}
    for queue in expected["queues"]:
        assert queue["name"] in queues
        assert queues[queue["name"]]["type"] == queue["arguments"].get("x-queue-type", "classic")
        assert queues[queue["name"]]["arguments"] == queue["arguments"]
    exchanges = {e["name"] for e in json.loads(_get(rabbit["api"] + "/api/exchanges", auth=auth))}
    assert {e["name"] for e in expected["exchanges"]} <= exchanges
    bindings = {(b["source"], b["destination"], b["routing_key"])
                for b in json.loads(_get(rabbit["api"] + "/api/bindings", auth=auth))}
    assert {(b["source"], b["destination"], b["routing_key"]) for b in expected["bindings"]} <= bindings


def test_only_the_configured_broker_user_exists(rabbit):
    users = json.loads(_get(rabbit["api"] + "/api/users", auth=(USER, PASSWORD)))
    assert [u["name"] for u in users] == [USER]  # no default guest
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(rabbit["api"] + "/api/overview", auth=(USER, "wrong-password"))
    assert refused.value.code == 401
    amqp = pytest.importorskip("amqp")
    connection = amqp.Connection("127.0.0.1:%d" % rabbit["amqp_port"], userid=USER, password=PASSWORD)
    connection.connect()
    connection.close()


def test_prometheus_endpoints_serve_the_series_the_rules_use(rabbit):
    url = rabbit["prometheus"] + "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"
    # queue statistics are collected every few seconds after boot
    deadline = time.monotonic() + 30
    detailed = _get(url)
    while 'queue="developer.dead_letters"' not in detailed and time.monotonic() < deadline:
        time.sleep(1)
        detailed = _get(url)
    for service in SERVICES:
        for metric in ("rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_messages_ready",
                       "rabbitmq_detailed_queue_messages_unacked", "rabbitmq_detailed_queue_consumers"):
            assert re.search(r'^%s\{vhost="/",queue="%s\.dead_letters"\} 0' % (metric, service),
                             detailed, re.M), (metric, service)
    aggregated = _get(rabbit["prometheus"] + "/metrics")
    for metric in RABBITMQ_METRICS:
        if not metric.startswith("rabbitmq_detailed_"):
            assert re.search(r"^%s " % metric, aggregated, re.M), metric
