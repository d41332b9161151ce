"""The five services as real `linkage run` processes on a private stack,
one or more replicas each, that a scenario can kill, stop and start again
on the same port.

The fleet is supervised as Kubernetes or systemd would: an instance that
exits without the scenario having stopped it is started again, and the exit
is recorded (a crash is a finding even when nothing was lost)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from shared.parties import ALL
from bench.probes import pid_listening_on
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
                while port in {p for _, p in self.instances.values()}:
                    port = _free_port()  # the kernel may hand out a released port again
                self.instances[instance_name(service, replica)] = (service, port)
        self.processes = {}
        self.crashes = []  # instances that exited by themselves
        self.lock = threading.RLock()
        self.supervising = False

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

    def log_path(self, name):
        return self.log_dir / ("%s.log" % name.replace("#", "-"))

    def start(self, *names, wait=True):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.lock:
            for name in names or list(self.instances):
                service = self.instances[name][0]
                log = open(self.log_path(name), "ab")
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
                process = self.processes.get(name)
                if (process is None or process.poll() is not None) and not self.supervising:
                    raise RuntimeError("%s exited; see %s" % (name, self.log_dir))
                try:  # (an exited one the supervisor is starting again does not answer yet)
                    if requests.get(self.url(name) + "/health", timeout=3).status_code == 200:
                        if process is not None and process.poll() is None:
                            self._check_owner(name, process)
                            break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("%s not healthy after %ss; see %s" % (name, timeout,
                                                                            self.log_dir))
                time.sleep(0.2)

    def _check_owner(self, name, process):
        """The answer came from our process, not from whatever else took its port."""
        owner = pid_listening_on(self.instances[name][1])
        if owner != process.pid:
            raise RuntimeError("%s's port %d is held by pid %s, not by it (pid %d)" % (
                name, self.instances[name][1], owner, process.pid))

    def kill(self, name):
        """SIGKILL: no shutdown, no acks, no relay flush."""
        with self.lock:
            process = self.processes.pop(name)
            process.send_signal(signal.SIGKILL)
            process.wait()
        self._wait_port_free(name)

    def stop(self, *names):
        """SIGTERM: the graceful stop `linkage run` does (SIGKILL after 30 s),
        to every instance named at once."""
        with self.lock:
            stopping = [(name, self.processes.pop(name)) for name in names or list(self.processes)
                        if name in self.processes]
        for _, process in stopping:
            process.terminate()
        deadline = time.monotonic() + 30
        for name, process in stopping:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._wait_port_free(name)

    def restart(self, name):
        self.start(name)

    def supervise(self):
        """Start again, from now on, any instance that exits by itself."""
        self.supervising = True
        threading.Thread(target=self._supervise, daemon=True).start()

    def _supervise(self):
        while self.supervising:
            with self.lock:
                for name, process in list(self.processes.items()):
                    if process.poll() is None:
                        continue
                    self.crashes.append({"instance": name, "at": time.time(),
                                         "exit_code": process.returncode,
                                         "why": last_words(self.log_path(name))})
                    del self.processes[name]
                    self._wait_port_free(name)
                    self.start(name, wait=False)
            time.sleep(0.5)

    def stop_supervising(self):
        self.supervising = False

    def pid(self, name):
        return self.processes[name].pid

    def _wait_port_free(self, name, timeout=15):
        deadline = time.monotonic() + timeout
        while not port_free(self.instances[name][1]) and time.monotonic() < deadline:
            time.sleep(0.1)


def last_words(log_path):
    """Why nameko killed the container, from the log (its "killing ... due to" line)."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if "due to" in line and "killing" in line:
            return line[:500]
    return lines[-1][:500] if lines else None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
