"""A private copy of the local stack: its own RabbitMQ node and database on
ports nobody else uses, in a directory of its own, started and stopped with
scripts/stack.sh (which reuses nothing it did not start on those ports). The
default stack (5672, 15672, 27017, .stack/) is never touched.

The faults act on this copy only: the broker's application or whole node
stopped and started, the memory watermark lowered, the database killed.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
STACK_SH = REPO / "scripts" / "stack.sh"
RABBIT_BIN = "/usr/lib/rabbitmq/bin"   # as stack.sh: not the /usr/sbin wrappers


def port_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_ports(tries=200):
    """AMQP, management, database and PostgreSQL ports, with every port
    stack.sh derives from them free too: Erlang distribution (AMQP + 20000),
    the CLI's distribution range (that + 10000 .. + 10010) and Prometheus
    (management + 20)."""
    for _ in range(tries):
        base = random.randrange(26100, 33000, 4)
        amqp, mgmt, mongo, postgres = base, base + 1, base + 2, base + 3
        needed = [amqp, mgmt, mongo, postgres, mgmt + 20, amqp + 20000] + \
            list(range(amqp + 30000, amqp + 30011))
        if all(port_free(port) for port in needed):
            return amqp, mgmt, mongo, postgres
    raise RuntimeError("no free ports for a private stack")


class PrivateStack:
    def __init__(self, directory=None, log=print, backend=None):
        self.id = uuid.uuid4().hex[:8]
        self.backend = backend  # FerretDB's: None for stack.sh's default
        # Short: PostgreSQL's socket path and Erlang like short paths.
        self.dir = Path(directory or "/tmp/linkage-faults-%s" % self.id)
        self.amqp_port, self.mgmt_port, self.mongo_port, self.postgres_port = pick_ports()
        self.node = "faults-%s@localhost" % self.id
        self.amqp_uri = "pyamqp://guest:guest@127.0.0.1:%d/" % self.amqp_port
        self.mongo_uri = "mongodb://127.0.0.1:%d/" % self.mongo_port
        self.api = "http://guest:guest@127.0.0.1:%d" % self.mgmt_port
        self.log = log

    # ------------------------------------------------------------ stack.sh
    def env(self):
        env = dict(os.environ)
        env.update(STACK_DIR=str(self.dir), AMQP_URI=self.amqp_uri, MONGO_URI=self.mongo_uri,
                   RABBIT_API_URI=self.api, RABBIT_NODE=self.node, PG_PORT=str(self.postgres_port),
                   VENV_PYTHON=str(REPO / ".venv" / "bin" / "python"))
        env.pop("FERRETDB_HANDLER", None)
        if self.backend:
            env["FERRETDB_HANDLER"] = self.backend
        return env

    def _stack(self, *args, timeout=300):
        result = subprocess.run([str(STACK_SH), *args], env=self.env(), capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError("stack.sh %s failed:\n%s%s" % (" ".join(args), result.stdout,
                                                              result.stderr))
        return result.stdout

    def up(self):
        """Start whatever of the stack is not running (stack.sh up is idempotent)."""
        self._stack("up")
        self.wait_management()

    def down(self):
        try:
            self.set_watermark(0.4, check=False)  # in case a run stopped mid-alarm
        except Exception:
            pass
        try:
            self._stack("down", "--purge", timeout=120)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ RabbitMQ
    def rabbitmqctl(self, *args, check=True, timeout=120):
        rs = self.dir / "rabbitmq"
        env = dict(os.environ, HOME=str(rs), RABBITMQ_NODENAME=self.node,
                   RABBITMQ_MNESIA_BASE=str(rs / "mnesia"), RABBITMQ_LOG_BASE=str(rs / "log"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=str(rs / "enabled_plugins"),
                   RABBITMQ_CONFIG_FILE=str(rs / "rabbitmq"), ERL_EPMD_ADDRESS="127.0.0.1",
                   RABBITMQ_DIST_PORT=str(self.amqp_port + 20000))
        result = subprocess.run([RABBIT_BIN + "/rabbitmqctl", "-n", self.node, "-q", *args],
                                env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError("rabbitmqctl %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
        return result.stdout

    def stop_app(self):
        self.rabbitmqctl("stop_app")

    def start_app(self):
        self.rabbitmqctl("start_app")
        self.wait_management()

    def stop_node(self):
        """The whole Erlang node stops (rabbitmqctl stop), as a host reboot would."""
        self.rabbitmqctl("stop")
        deadline = time.monotonic() + 60
        while not port_free(self.amqp_port):
            if time.monotonic() > deadline:
                raise RuntimeError("RabbitMQ still listens on %d" % self.amqp_port)
            time.sleep(0.5)

    def start_node(self):
        self.up()

    def set_watermark(self, fraction, check=True):
        self.rabbitmqctl("set_vm_memory_high_watermark", str(fraction), check=check)

    def memory_alarm(self):
        """Whether the node reports a memory alarm right now."""
        nodes = requests.get(self.api + "/api/nodes", timeout=10).json()
        return any(node.get("mem_alarm") for node in nodes)

    def wait_management(self, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(self.api + "/api/overview", timeout=3).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("management API of %s not answering" % self.node)
            time.sleep(0.5)

    def queues(self):
        """{queue name: messages (ready + unacknowledged)} of the default vhost."""
        response = requests.get(self.api + "/api/queues/%2F?columns=name,messages", timeout=10)
        response.raise_for_status()
        return {queue["name"]: queue.get("messages") or 0 for queue in response.json()}

    # ------------------------------------------------------------ database
    def database_pid(self):
        for kind in ("ferretdb", "mongod"):
            path = self.dir / kind / "pid"
            if path.exists():
                return int(path.read_text().split()[0])
        raise RuntimeError("no database pid under %s" % self.dir)

    def kill_database(self):
        """SIGKILL: no shutdown, whatever it was writing."""
        pid = self.database_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not port_free(self.mongo_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        return pid

    def start_database(self):
        self.up()
