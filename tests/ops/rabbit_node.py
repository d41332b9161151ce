"""A private RabbitMQ node (the one installed on this machine for the local
stack) booted with the compose configuration: ops/rabbitmq/rabbitmq.conf, its
plugins, and the definitions render-definitions.sh writes, with the
administrator and the five service users under passwords of its own.

Only the listener lines of rabbitmq.conf are changed (free loopback ports, so
it runs beside the local stack, which it never touches) and the definitions
path (a temp dir)."""
import base64
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager

import pytest

from tests.ops.helpers import BROKER_PASSWORDS, OPS, SERVICES, free_port

RABBIT_BIN = "/usr/lib/rabbitmq/bin"  # not /usr/sbin: those wrappers su to the rabbitmq user
ADMIN = "linkage"


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


def http_get(url, auth=None, timeout=5):
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(("%s:%s" % auth).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


class ComposeNode:
    def __init__(self, ports):
        self.api = "http://127.0.0.1:%d" % ports["management"]
        self.prometheus = "http://127.0.0.1:%d" % ports["prometheus"]
        self.amqp_port = ports["amqp"]
        self.admin = (ADMIN, "boot-admin-" + uuid.uuid4().hex)
        self.passwords = {service: "boot-%s-%s" % (service.split("_")[0], uuid.uuid4().hex)
                          for service in SERVICES}

    def amqp_uri(self, user=None):
        """As the administrator, or as a service's own user."""
        password = self.admin[1] if user is None else self.passwords[user]
        return "pyamqp://%s:%s@127.0.0.1:%d/" % (user or ADMIN, password, self.amqp_port)

    def render_env(self, definitions):
        env = dict(os.environ, RABBITMQ_USER=ADMIN, RABBITMQ_PASSWORD=self.admin[1],
                   LINKAGE_TOPOLOGY=os.path.join(OPS, "rabbitmq", "definitions.json"),
                   LINKAGE_DEFINITIONS=str(definitions))
        env.update({BROKER_PASSWORDS[service]: password for service, password in self.passwords.items()})
        return env


@contextmanager
def compose_node(home):
    """Boot the node in `home` (a fresh directory) and stop it afterwards."""
    if not os.access(os.path.join(RABBIT_BIN, "rabbitmq-server"), os.X_OK):
        pytest.skip("rabbitmq-server is not installed (scripts/stack.sh installs it)")
    ports = {name: free_port() for name in ("amqp", "management", "prometheus", "dist")}
    node = ComposeNode(ports)
    definitions = home / "definitions.json"
    subprocess.run(["sh", os.path.join(OPS, "rabbitmq", "render-definitions.sh")],
                   env=node.render_env(definitions), check=True)
    (home / "rabbitmq.conf").write_text(_conf(definitions, ports))
    (home / "enabled_plugins").write_text(open(os.path.join(OPS, "rabbitmq", "enabled_plugins")).read())

    name = "opsboot%s@localhost" % uuid.uuid4().hex[:8]
    env = dict(os.environ, HOME=str(home), RABBITMQ_NODENAME=name,
               RABBITMQ_CONFIG_FILE=str(home / "rabbitmq.conf"),
               RABBITMQ_ENABLED_PLUGINS_FILE=str(home / "enabled_plugins"),
               RABBITMQ_MNESIA_BASE=str(home / "mnesia"), RABBITMQ_LOG_BASE=str(home / "log"),
               RABBITMQ_PID_FILE=str(home / "pid"), RABBITMQ_DIST_PORT=str(ports["dist"]),
               ERL_EPMD_ADDRESS="127.0.0.1",
               RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
    log = open(home / "out.log", "w")
    server = subprocess.Popen([os.path.join(RABBIT_BIN, "rabbitmq-server")], env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail("RabbitMQ exited during boot:\n" + (home / "out.log").read_text()[-3000:])
            try:
                http_get(node.api + "/api/overview", auth=node.admin)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail("RabbitMQ did not answer in 120 s:\n"
                                + (home / "out.log").read_text()[-3000:])
                time.sleep(0.5)
        # The management API can answer before the boot (and with it the
        # definitions import) has finished; wait for the node to say it is up.
        subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", name, "await_startup",
                        "--timeout", "120"], env=env, check=True, capture_output=True, timeout=150)
        yield node
    finally:
        subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", name, "stop"], env=env,
                       capture_output=True, timeout=60)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # our own session only
            server.wait(timeout=10)
        log.close()
