"""The whole system as a front end meets it: the five services started as
real `linkage run` processes (`nameko run` underneath), in a vhost and with a
database prefix of their own, on free ports."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from shared.parties import ALL
from tests.support import free_port

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
AMQP_BASE = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/").rstrip("/")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")
LOG_DIR = Path(__file__).resolve().parent.parent / ".stack" / "test-logs"


def _linkage_command():
    return [os.path.join(os.path.dirname(sys.executable), "linkage")]


class System:
    def __init__(self, **settings):
        self.vhost = "e2e-%s" % uuid.uuid4().hex[:8]
        self.db_prefix = "e%s_" % uuid.uuid4().hex[:8]
        self.amqp_uri = "%s/%s" % (AMQP_BASE, self.vhost)
        self.settings = {key: str(value) for key, value in settings.items()}
        self.ports = {name: free_port() for name in ALL}
        self.processes = {}

    def url(self, service):
        return "http://127.0.0.1:%d" % self.ports[service]

    @property
    def urls(self):
        return {name: self.url(name) for name in ALL}

    def env(self, service):
        env = dict(os.environ)
        env.update({
            "AMQP_URI": self.amqp_uri, "MONGO_URI": MONGO_URI, "DB_PREFIX": self.db_prefix,
            "HTTP_PORT": str(self.ports[service]), "HTTP_HOST": "127.0.0.1",
            "RETRY_DELAYS_MS": "200,500,1000,2000", "OUTBOX_POLL_SECONDS": "0.5",
            "OUTBOX_SCAN_SECONDS": "2",
        })
        env.update(self.settings)
        return env

    def create_vhost(self):
        session = requests.Session()
        session.put("%s/api/vhosts/%s" % (RABBIT_API, self.vhost), timeout=10).raise_for_status()
        session.put("%s/api/permissions/%s/guest" % (RABBIT_API, self.vhost),
                    json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()

    def delete_vhost(self):
        requests.delete("%s/api/vhosts/%s" % (RABBIT_API, self.vhost), timeout=10)

    def start(self, *services):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for service in services or ALL:
            log = open(LOG_DIR / ("%s-%s.log" % (self.vhost, service)), "ab")
            self.processes[service] = subprocess.Popen(
                _linkage_command() + ["run", service], env=self.env(service),
                stdout=log, stderr=subprocess.STDOUT)
        self.wait_healthy(*(services or ALL))

    def wait_healthy(self, *services, timeout=60):
        deadline = time.monotonic() + timeout
        for service in services:
            while True:
                process = self.processes[service]
                if process.poll() is not None:
                    raise RuntimeError("%s exited with %s; see %s" % (service, process.returncode, LOG_DIR))
                try:
                    if requests.get(self.url(service) + "/health", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("%s not healthy after %ss; see %s" % (service, timeout, LOG_DIR))
                time.sleep(0.2)

    def stop(self, *services):
        """Stop the services gracefully, all at once (each takes a couple of
        seconds to finish its work), killing any still running after 15 s."""
        stopping = [self.processes.pop(service) for service in services or list(self.processes)
                    if service in self.processes]
        for process in stopping:
            process.terminate()
        deadline = time.monotonic() + 15
        for process in stopping:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self, service):
        return (LOG_DIR / ("%s-%s.log" % (self.vhost, service))).read_text(errors="replace")

    def drop_databases(self, client):
        for name in client.list_database_names():
            if name.startswith(self.db_prefix):
                client.drop_database(name)

    def __enter__(self):
        self.create_vhost()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.delete_vhost()
