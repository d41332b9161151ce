"""The five services as real `linkage run` processes on a private stack,
one or more replicas each, that a scenario can kill, stop and start again
on the same port."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests

from shared.parties import ALL
from faults.stack import port_free

# The product's defaults (shared/nameko.yaml), written out so that a caller's
# environment cannot shorten them: with the end-to-end tests' short retry
# delays a 10 s outage would dead-letter events that production would retry.
PRODUCT = {"RETRY_DELAYS_MS": "1000,5000,30000,120000,600000",
           "OUTBOX_POLL_SECONDS": "1.0", "OUTBOX_SCAN_SECONDS": "30"}


def instance_name(service, replica):
    return service if replica == 1 else "%s#%d" % (service, replica)


class Fleet:
    def __init__(self, stack, log_dir, settings=None, replicas=None):
        self.stack = stack
        self.log_dir = log_dir
        self.settings = {key: str(value) for key, value in (settings or {}).items()}
        self.instances = {}  # name -> (service, port)
        for service in ALL:
            for replica in range(1, (replicas or {}).get(service, 1) + 1):
                port = _free_port()
                self.instances[instance_name(service, replica)] = (service, port)
        self.processes = {}

    def url(self, name):
        return "http://127.0.0.1:%d" % self.instances[name][1]

    def replicas(self, service):
        return [name for name, (owner, _) in self.instances.items() if owner == service]

    def env(self, name):
        service, port = self.instances[name]
        env = dict(os.environ)
        env.update(PRODUCT)
        env.update(AMQP_URI=self.stack.amqp_uri, MONGO_URI=self.stack.mongo_uri, DB_PREFIX="",
                   HTTP_HOST="127.0.0.1", HTTP_PORT=str(port), EVENTLET_NO_GREENDNS="yes")
        env.update(self.settings)
        return env

    def start(self, *names, wait=True):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names or list(self.instances):
            service = self.instances[name][0]
            log = open(self.log_dir / ("%s.log" % name.replace("#", "-")), "ab")
            command = [os.path.join(os.path.dirname(sys.executable), "linkage"), "run", service]
            self.processes[name] = subprocess.Popen(command, env=self.env(name), stdout=log,
                                                    stderr=subprocess.STDOUT)
            log.close()
        if wait:
            self.wait_healthy(*(names or list(self.instances)))

    def wait_healthy(self, *names, timeout=90):
        deadline = time.monotonic() + timeout
        for name in names or list(self.instances):
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError("%s exited with %s; see %s" % (name, process.returncode,
                                                                     self.log_dir))
                try:
                    if requests.get(self.url(name) + "/health", timeout=3).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("%s not healthy after %ss; see %s" % (name, timeout,
                                                                            self.log_dir))
                time.sleep(0.2)

    def kill(self, name):
        """SIGKILL: no shutdown, no acks, no relay flush."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()
        self._wait_port_free(name)

    def stop(self, *names):
        """SIGTERM: the graceful stop `linkage run` does (SIGKILL after 30 s)."""
        for name in names or list(self.processes):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._wait_port_free(name)

    def restart(self, name):
        self.start(name)

    def pid(self, name):
        return self.processes[name].pid

    def _wait_port_free(self, name, timeout=15):
        deadline = time.monotonic() + timeout
        while not port_free(self.instances[name][1]) and time.monotonic() < deadline:
            time.sleep(0.1)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
